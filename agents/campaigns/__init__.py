"""Campaigns (mass messages): one segment, minus exclusions, each recipient gets a draft a human approves."""

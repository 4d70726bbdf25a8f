"""Temporal workflows, their activities and the worker entry point."""

"""Benchmarks (not tests): each prints its timings and a ratio against a baseline measured in the same run."""

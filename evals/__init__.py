"""Eval suites, runner, graders and reports. Not built yet."""

"""Shared pieces of spoke's end-to-end tests: processes, waiting, kubectl."""

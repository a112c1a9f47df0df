"""Benchmarks: scripts that print a table and write JSON results next to themselves."""

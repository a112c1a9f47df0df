"""Benchmark of the simulator: a week of the Philly-derived trace on real catalogs."""

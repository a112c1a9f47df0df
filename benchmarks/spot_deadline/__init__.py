"""Spot and deadlines: the "Can't Be Late" (NSDI'24) grid, every policy and the omniscient
optimum on recorded spot traces (see run.py and benchmarks/README.md)."""

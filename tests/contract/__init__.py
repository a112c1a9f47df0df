"""Contract suites: one set of tests per port, run against every adapter in adapters.py."""

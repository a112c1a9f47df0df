"""libcloud's recorded provider responses (its ``MockHttp`` test harness and fixtures),
wired to skybatch's adapters, plus our own recorded-style error payloads under
``tests/data/recorded``."""

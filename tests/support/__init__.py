"""Helpers the tests share: real local services (a moto server) and their bridges."""

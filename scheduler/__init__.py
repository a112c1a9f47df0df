"""The skybatch service: gRPC API, store, control loop, worker agent and CLI."""

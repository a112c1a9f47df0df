"""The worker agent that runs one attempt of a job on a node.

Started by the node's boot script as ``python -m scheduler.worker --server HOST:PORT
--attempt-id ID`` with the attempt token in ``$SKYBATCH_ATTEMPT_TOKEN``. It fetches
its assignment over the worker gRPC API, restores the job's newest checkpoint, runs
the job, heartbeats and uploads checkpoints while it runs, and reports how it ended.
"""

"""Small real workloads the demo and the tests run on worker nodes.

Each is a ``python -m`` entry point that follows the worker contract: state lives in
``$SKYBATCH_CHECKPOINT_DIR`` (any copy of it is a consistent snapshot), progress goes
to ``$SKYBATCH_PROGRESS_FILE``, and SIGTERM means "finish the current step and exit".
"""

"""The optimizer benchmark on real catalogs and real workload traces (see ``run.py``)."""

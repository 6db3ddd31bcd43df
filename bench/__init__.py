"""Benchmarks: each module prints figures when run with ``python -m bench.<name>``."""

"""Benchmarks: jobqueue_lab measured side by side with the tools people pick instead.

Run them all with ``python -m bench.run`` (add ``--quick`` for a tiny run that only checks the
benchmarks work). Every figure is a ratio against a peer measured in the same process run,
because absolute times drift on a shared machine while ratios mostly do not.
"""

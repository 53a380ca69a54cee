"""Benchmarks: jobqueue_lab measured side by side with the tools people pick instead.

Run them all with ``python -m bench.run`` (add ``--quick`` for a tiny run that only checks the
benchmarks work). Every figure is a ratio against a peer measured in the same run, because
absolute times drift on a shared machine while ratios mostly do not; every measurement happens
in a fresh process that imports only what it measures (``bench.lean``).

This package's ``__init__`` imports nothing, so a measuring process stays lean.
"""

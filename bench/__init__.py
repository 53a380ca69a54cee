"""Benchmarks: jobqueue_lab measured side by side with the tools people pick instead.

Run them all with ``python -m bench.run`` (add ``--quick`` for a tiny run that only checks the
benchmarks work). Every figure is a ratio against a peer measured in the same run, because
absolute times drift on a shared machine while ratios mostly do not; every measurement happens
in a fresh process that imports only what it measures (``bench.harness.lean``).

The modules are grouped by kind:

* ``harness``: how a run is measured and shown: the lean measuring processes, interleaved
  repeats, timing, sizes, the jobs every system runs, worker processes behind a gate, the
  throwaway PostgreSQL server, the table's rows and the report.
* ``ours``: jobqueue_lab's own runs: the pool, the store on one thread and in worker
  processes, memory, scaling, the dashboard watching a run, notebook time.
* ``peers``: what jobqueue_lab is compared with: ThreadPoolExecutor bare and with honest
  bookkeeping, a locked dict, Huey in memory and on SQLite, procrastinate on PostgreSQL.
* ``diagnostics``: why the figures are what they are: each bookkeeping step timed alone, what
  its ingredients cost, and what each system asks of PostgreSQL
  (``python -m bench.diagnostics.process_profile``).

This package's ``__init__``, and each sub-package's, imports nothing, so a measuring process
stays lean.
"""

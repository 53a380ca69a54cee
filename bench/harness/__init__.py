"""How a run is measured and shown: lean measuring processes, interleaving, timing, sizes,
the jobs every system runs, gated worker processes, the PostgreSQL server, rows and report.

Imports nothing, so a measuring process stays lean.
"""

"""Why the figures are what they are: the per-step breakdown, the ingredients, and the
PostgreSQL profile (``python -m bench.diagnostics.process_profile``).

Imports nothing, so a measuring process stays lean.
"""

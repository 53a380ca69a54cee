"""jobqueue_lab's own runs, each called in a lean measuring process.

Imports nothing, so a measuring process stays lean.
"""

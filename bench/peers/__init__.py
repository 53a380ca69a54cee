"""The peers jobqueue_lab is compared with, each called in a lean measuring process.

Imports nothing, so a measuring process stays lean.
"""

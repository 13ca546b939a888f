"""warmstart service: REST API, database of past tasks, study workers and the ``warmstart`` CLI.

Depends on :mod:`metaknowledge`; never the reverse.
"""

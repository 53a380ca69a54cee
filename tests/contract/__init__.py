"""The store contract: one suite, run against every kind of store (memory, SQLite, PostgreSQL)."""

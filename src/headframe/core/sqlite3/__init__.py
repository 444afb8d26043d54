"""Django's SQLite backend, waiting for the write lock outside SQLite (see base.py). ENGINE ends in "sqlite3"
as Django's does: code that asks which engine runs checks that ending."""

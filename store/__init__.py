"""The one storage layer both apps write through: SQLite via sqlite-utils, projections of records.

SQL lives here (and in sync's record log) and nowhere else. Projections are rebuildable from the
record log at any time; they are never the source of truth.
"""

"""Plain multi-row INSERTs for append-only rows written by the thousand (the bulk import).

``QuerySet.bulk_create`` builds a model instance per row and prepares every value field by
field; for the import's timeline events that was a third of the import's own time. These
rows need none of it: they are append-only, have no signals or history, and their values
are already in database form. One statement on PostgreSQL; SQLite, whose statements take a
limited number of parameters, gets one per few hundred rows.
"""

from __future__ import annotations

from django.db import connection

SQLITE_PARAMETERS = 900


def insert_rows(model, fields: list[str], rows: list[tuple]) -> None:
    """INSERT ``rows`` (tuples in the order of ``fields``, database-ready values) into the
    model's table. Datetimes must be adapted first (``adapt_datetime``)."""
    if not rows:
        return
    options = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(options.get_field(name).column) for name in fields)
    head = f"INSERT INTO {quote(options.db_table)} ({columns}) VALUES "
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = len(rows) if connection.vendor == "postgresql" else SQLITE_PARAMETERS // len(fields)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            cursor.execute(head + ", ".join([one] * len(chunk)), [v for row in chunk for v in row])


def adapt_datetime(value):
    """A datetime as this database stores it (naive UTC on SQLite, aware on PostgreSQL)."""
    return connection.ops.adapt_datetimefield_value(value)

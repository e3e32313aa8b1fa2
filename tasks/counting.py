"""Which task queries the per-user counters (`TaskCount`) can count, instead of a count(*) over all the rows.

A list page needs the count of the user's tasks (or of their open or completed ones). count(*) reads every entry of
the user's index: 1-2 ms for 10,000 tasks, 25-100 ms for 100,000. The triggers of migration 0002 keep one row per
user up to date in the same transaction as every INSERT, UPDATE and DELETE, so these counts are one primary-key read.
Any other query (search, another filter, a slice, distinct, ...) is counted by the database as usual.
On SQLite, a migration that rebuilds tasks_task drops its triggers: tests/test_counts.py checks that they are there.
"""

from django.db.models.expressions import Col
from django.db.models.lookups import Exact
from django.db.models.sql.where import AND

COUNTED_FIELDS = {"user_id": str, "completed": bool}


def counted_filter(query) -> dict | None:
    """{"user_id": ..., optionally "completed": ...} when that is all the query selects; None otherwise."""
    if query.is_sliced or query.distinct or query.combinator or query.group_by is not None or query.extra:
        return None
    where = query.where
    if where.negated or where.connector != AND or len(query.alias_map) != 1:
        return None
    terms = {}
    for child in where.children:
        if not (isinstance(child, Exact) and isinstance(child.lhs, Col)):
            return None
        name = child.lhs.target.name
        if name in terms or type(child.rhs) is not COUNTED_FIELDS.get(name):
            return None
        terms[name] = child.rhs
    return terms if "user_id" in terms else None

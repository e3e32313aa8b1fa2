"""Tags: the key they are compared by, the filter by tag on each database, and a user's tags with their counts.

A task keeps its tags as given (`tags`, the first spelling of each) and their keys (`tag_keys`, the same tags
casefolded, in the same order), so that `tag=Work` finds `work` without a case-insensitive comparison in SQL, which
SQLite makes for ASCII letters only. On PostgreSQL `tag_keys` is jsonb with a GIN index on (user_id, tag_keys)
(migration 0008): `tag_keys @> '["work"]'` is one index scan. BENCHMARKS.md ("Tag storage") has the alternatives
measured and why this one.
"""

from django.db import connections
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL


def tag_key(tag: str) -> str:
    """What two spellings of one tag have in common (`Work`, `WORK` and `work`: `work`)."""
    return tag.casefold()


def keys_of(tags: list[str]) -> list[str]:
    return [tag_key(tag) for tag in tags]


def with_tag(tasks: QuerySet, *, key: str) -> QuerySet:
    """The tasks that carry the tag of this key."""
    if connections[tasks.db].vendor == "postgresql":
        return tasks.filter(tag_keys__contains=[key])
    # SQLite's JSON1 has no containment operator (Django's `contains` is not supported there): look at each element.
    carries = RawSQL("EXISTS (SELECT 1 FROM json_each(tasks_task.tag_keys) WHERE value = %s)", [key], BooleanField())
    return tasks.alias(carries_tag=carries).filter(carries_tag=True)


def tag_counts(tasks: QuerySet) -> list[dict]:
    """Every tag of these tasks, as [{"name": first spelling seen, "count": tasks carrying it}], the most used
    first, then by name. Counted here rather than in SQL so that both databases give the same answer (the order of
    names would otherwise follow each database's collation)."""
    names: dict[str, str] = {}
    counts: dict[str, int] = {}
    tagged = tasks.exclude(tag_keys=[]).order_by("created_at", "id").values_list("tags", "tag_keys")
    for tags, keys in tagged.iterator(chunk_size=2000):
        for tag, key in zip(tags, keys, strict=True):
            names.setdefault(key, tag)
            counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts, key=lambda key: (-counts[key], key, names[key]))
    return [{"name": names[key], "count": counts[key]} for key in ranked]

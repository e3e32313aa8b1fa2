"""Filtering, search and ordering of task lists; an invalid parameter is an error, never silently ignored.

Every parameter that takes several values has a cap, the same on both databases, so that no request builds a query
a database refuses: SQLite's expression tree is at most 1,000 deep (1,000 search terms or `tag=` filters were a 500)
and its LIKE patterns at most 50,000 bytes.
"""

import re

from django.db.models import CharField, F, Func, Lookup, Q
from django.db.models.lookups import IContains
from django.utils import timezone
from rest_framework import filters, serializers

from .models import Priority, Task
from .serializers import AwareDateTimeField, PriorityField, TagField, TagsField
from .tags import tag_key, with_tag

BOOLEANS = {"true": True, "false": False}
# An offset's + that nobody percent-encoded reaches the query string as a space: "...T14:00:00 02:00".
UNENCODED_PLUS = re.compile(r" (\d\d(?::?\d\d)?)$")
# Fields that may be null: ordered with the NULLs last in both directions (tasks without a due date last).
NULLS_LAST = {"due_at"}
# Words or quoted phrases in `search=`; the whole value no longer than the longest text a task has, which is all a
# term could ever match.
MAX_SEARCH_TERMS = 10
MAX_SEARCH_LENGTH = max(Task._meta.get_field(name).max_length for name in ("title", "description"))
# More tags than a task carries, or more priorities than there are, can add nothing to a filter.
MAX_TAG_FILTERS = TagsField.max_tags
MAX_PRIORITIES = len(Priority)


def unicode_upper(value: str | None) -> str | None:
    """The upper case of each character, as PostgreSQL's upper() makes it (one character for one: Python's
    str.upper() alone would also make "SS" of "ß", and the two databases would find different tasks)."""
    if value is None:
        return None
    upper = value.upper()
    if len(upper) == len(value):  # no character became several
        return upper
    return "".join(char if len(char.upper()) > 1 else char.upper() for char in value)


def install_unicode_upper(sender, connection, **kwargs) -> None:
    """On every new SQLite connection (the `connection_created` signal, connected in tasks/apps.py)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("unicode_upper", 1, unicode_upper, deterministic=True)


@CharField.register_lookup
class UnicodeIContains(Lookup):
    """`icontains` for every alphabet on both databases. PostgreSQL's is Django's own (UPPER(...) LIKE UPPER(...),
    the expression its trigram indexes serve: migration 0003); SQLite's LIKE folds A-Z only, so `école` missed
    "École": there both sides are upper-cased by unicode_upper() first."""

    lookup_name = "unicode_icontains"

    def as_sql(self, compiler, connection):
        return compiler.compile(IContains(self.lhs, self.rhs))

    def as_sqlite(self, compiler, connection):
        upper = Func(self.lhs, function="unicode_upper", output_field=CharField())
        return compiler.compile(IContains(upper, unicode_upper(self.rhs)))


class CompletedFilter(filters.BaseFilterBackend):
    """`completed=true|false`: only the tasks in that state (django-filter's FilterSet built a form per request
    for this one parameter, a large share of a list request's CPU: BENCHMARKS.md)."""

    param = "completed"

    def requested(self, request) -> bool | None:
        """The state asked for, or None when the parameter is absent or empty."""
        raw = request.query_params.get(self.param)
        return parse_boolean(self.param, raw) if raw else None

    def filter_queryset(self, request, queryset, view):
        completed = self.requested(request)
        return queryset if completed is None else queryset.filter(completed=completed)


class SearchFilter(filters.SearchFilter):
    default_lookup = UnicodeIContains.lookup_name

    def get_search_terms(self, request):
        raw = request.query_params.get(self.search_param, "")
        # PostgreSQL cannot hold a NUL character in a query parameter; say so rather than fail.
        if "\x00" in raw:
            raise serializers.ValidationError({self.search_param: ["Must not contain NUL characters."]})
        if len(raw) > MAX_SEARCH_LENGTH:
            raise serializers.ValidationError({self.search_param: [f"At most {MAX_SEARCH_LENGTH} characters."]})
        terms = super().get_search_terms(request)
        if len(terms) > MAX_SEARCH_TERMS:
            raise serializers.ValidationError(
                {self.search_param: [f"At most {MAX_SEARCH_TERMS} words or quoted phrases."]}
            )
        return terms


class OrderingFilter(filters.OrderingFilter):
    """The requested order, then creation time (newest first unless it was asked for) and the id in the same
    direction: a total order, so that pages of equal titles, states or timestamps never overlap or skip a task."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view))
        created = next((field for field in ordering if field.lstrip("-") == "created_at"), None)
        if created is None:
            created = "-created_at"
            ordering.append(created)
        return [nulls_last(field) for field in [*ordering, created.replace("created_at", "id")]]

    def remove_invalid_fields(self, queryset, fields, view, request):
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        if len(valid) != len(fields):
            allowed = ", ".join(name for name, _ in self.get_valid_fields(queryset, view, {"request": request}))
            raise serializers.ValidationError(
                {self.ordering_param: [f"Must be one of {allowed}, each optionally prefixed with '-'."]}
            )
        # A field named again orders nothing more; so the number of fields is capped by the model's.
        if len({field.lstrip("-") for field in valid}) != len(valid):
            raise serializers.ValidationError({self.ordering_param: ["Each field at most once."]})
        return valid


def nulls_last(field: str):
    if field.lstrip("-") not in NULLS_LAST:
        return field
    column = F(field.lstrip("-"))
    return column.desc(nulls_last=True) if field.startswith("-") else column.asc(nulls_last=True)


class FieldFilter(filters.BaseFilterBackend):
    """`priority=`, `tag=`, `due_after=`, `due_before=`, `overdue=` and `recurring=`, combined with AND. An empty
    value is no filter; a bad value is a 422 that says what is expected, in the words the task's own fields use."""

    def filter_queryset(self, request, queryset, view):
        params = request.query_params
        if raw := params.get("priority"):
            names = raw.split(",")
            if len(names) > MAX_PRIORITIES:
                raise serializers.ValidationError({"priority": [f"At most {MAX_PRIORITIES} priorities."]})
            queryset = queryset.filter(priority__in=[parse(PriorityField(), "priority", name) for name in names])
        tags = list(filter(None, params.getlist("tag")))
        if len(tags) > MAX_TAG_FILTERS:
            raise serializers.ValidationError({"tag": [f"At most {MAX_TAG_FILTERS} tags (a task carries no more)."]})
        for raw in tags:
            queryset = with_tag(queryset, key=tag_key(parse(TagField(), "tag", raw)))
        if raw := params.get("due_after"):
            queryset = queryset.filter(due_at__gte=parse(AwareDateTimeField(), "due_after", raw))
        if raw := params.get("due_before"):
            queryset = queryset.filter(due_at__lt=parse(AwareDateTimeField(), "due_before", raw))
        if raw := params.get("overdue"):
            overdue = Q(completed=False, due_at__lt=timezone.now())
            queryset = queryset.filter(overdue if parse_boolean("overdue", raw) else ~overdue)
        if raw := params.get("recurring"):
            queryset = queryset.filter(recurrence__isnull=not parse_boolean("recurring", raw))
        return queryset


def parse(field: serializers.Field, param: str, raw: str):
    """A query parameter read as `field` reads a JSON string; its error names the parameter."""
    if isinstance(field, serializers.DateTimeField):
        raw = UNENCODED_PLUS.sub(r"+\1", raw)
    try:
        return field.run_validation(raw)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({param: exc.detail}) from exc


def parse_boolean(param: str, raw: str) -> bool:
    if raw not in BOOLEANS:
        raise serializers.ValidationError({param: [f"Must be true or false, not {raw[:20]!r}."]})
    return BOOLEANS[raw]

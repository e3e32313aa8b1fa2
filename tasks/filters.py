"""Filtering, search and ordering of task lists; an invalid parameter is an error, never silently ignored."""

import re

from django.db.models import F, Q
from django.utils import timezone
from rest_framework import filters, serializers

from .serializers import AwareDateTimeField, PriorityField, TagField
from .tags import tag_key, with_tag

BOOLEANS = {"true": True, "false": False}
# An offset's + that nobody percent-encoded reaches the query string as a space: "...T14:00:00 02:00".
UNENCODED_PLUS = re.compile(r" (\d\d(?::?\d\d)?)$")
# Fields that may be null: ordered with the NULLs last in both directions (tasks without a due date last).
NULLS_LAST = {"due_at"}


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
    def get_search_terms(self, request):
        # PostgreSQL cannot hold a NUL character in a query parameter; say so rather than fail.
        if "\x00" in request.query_params.get(self.search_param, ""):
            raise serializers.ValidationError({self.search_param: ["Must not contain NUL characters."]})
        return super().get_search_terms(request)


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
        return valid


def nulls_last(field: str):
    if field.lstrip("-") not in NULLS_LAST:
        return field
    column = F(field.lstrip("-"))
    return column.desc(nulls_last=True) if field.startswith("-") else column.asc(nulls_last=True)


class FieldFilter(filters.BaseFilterBackend):
    """`priority=`, `tag=`, `due_after=`, `due_before=` and `overdue=`, combined with AND. An empty value is no
    filter; a bad value is a 422 that says what is expected, in the words the task's own fields use."""

    def filter_queryset(self, request, queryset, view):
        params = request.query_params
        if raw := params.get("priority"):
            queryset = queryset.filter(
                priority__in=[parse(PriorityField(), "priority", name) for name in raw.split(",")]
            )
        for raw in filter(None, params.getlist("tag")):
            queryset = with_tag(queryset, key=tag_key(parse(TagField(), "tag", raw)))
        if raw := params.get("due_after"):
            queryset = queryset.filter(due_at__gte=parse(AwareDateTimeField(), "due_after", raw))
        if raw := params.get("due_before"):
            queryset = queryset.filter(due_at__lt=parse(AwareDateTimeField(), "due_before", raw))
        if raw := params.get("overdue"):
            overdue = Q(completed=False, due_at__lt=timezone.now())
            queryset = queryset.filter(overdue if parse_boolean("overdue", raw) else ~overdue)
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

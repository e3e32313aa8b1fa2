"""Filtering, search and ordering of task lists; an invalid parameter is an error, never silently ignored."""

from rest_framework import filters, serializers


class CompletedFilter(filters.BaseFilterBackend):
    """`completed=true|false`: only the tasks in that state (django-filter's FilterSet built a form per request
    for this one parameter, a large share of a list request's CPU: BENCHMARKS.md)."""

    param = "completed"
    values = {"true": True, "false": False}

    def requested(self, request) -> bool | None:
        """The state asked for, or None when the parameter is absent or empty."""
        raw = request.query_params.get(self.param)
        if not raw:
            return None
        if raw not in self.values:
            raise serializers.ValidationError({self.param: [f"Must be true or false, not {raw[:20]!r}."]})
        return self.values[raw]

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
        return [*ordering, created.replace("created_at", "id")]

    def remove_invalid_fields(self, queryset, fields, view, request):
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        if len(valid) != len(fields):
            allowed = ", ".join(name for name, _ in self.get_valid_fields(queryset, view, {"request": request}))
            raise serializers.ValidationError(
                {self.ordering_param: [f"Must be one of {allowed}, each optionally prefixed with '-'."]}
            )
        return valid

"""Page-number pagination with strict parameters: a bad value is an error, not a silent default."""

from django.core.paginator import Paginator
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination


def positive_int(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise serializers.ValidationError({name: [f"Must be a positive whole number, not {raw[:20]!r}."]})
    return int(raw)


class TaskPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request, paginator):
        return positive_int(request, self.page_query_param) or 1

    def get_page_size(self, request):
        requested = positive_int(request, self.page_size_query_param)
        return self.page_size if requested is None else min(requested, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None, *, count: int | None = None):
        """DRF's pages; `count`, when the caller already knows it, spares the database a count(*)."""
        self.known_count = count
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, queryset, page_size: int) -> Paginator:
        paginator = Paginator(queryset, page_size)
        if self.known_count is not None:
            paginator.count = self.known_count  # Paginator.count is a cached_property: this value is used as is
        return paginator

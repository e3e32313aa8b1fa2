"""The tasks API: one viewset, always scoped to the user named by the token."""

import uuid
from functools import partial

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from todo_project.errors import PreconditionFailed

from . import changes, conditional, writes
from .counting import stored_count
from .filters import (
    MAX_PRIORITIES,
    MAX_SEARCH_LENGTH,
    MAX_SEARCH_TERMS,
    MAX_TAG_FILTERS,
    CompletedFilter,
    FieldFilter,
    OrderingFilter,
    SearchFilter,
)
from .idempotency import run_once
from .models import Priority, Task
from .schema import CHANGES_PARAMETERS, ETAG, IDEMPOTENCY_PARAMETERS, IF_MATCH, IF_NONE_MATCH, TaskAutoSchema
from .scoping import UserPathMixin
from .serializers import (
    ChangesPageSerializer,
    ChangesQuerySerializer,
    CompleteSerializer,
    TagListSerializer,
    TaskSerializer,
)
from .tags import tag_counts

ORDERING = ["created_at", "updated_at", "title", "completed", "due_at", "priority"]
# The list parameters that select nothing the per-user counters cannot count (tasks/counting.py).
COUNTED_PARAMETERS = {"completed", "ordering", "page", "page_size"}
LIST_PARAMETERS = [
    OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="Page number, from 1."),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1},
        description="Tasks per page: 50 by default, at most 200 (larger is capped).",
    ),
    OpenApiParameter("completed", bool, description="Only completed (`true`) or open (`false`) tasks."),
    OpenApiParameter(
        "search",
        {"type": "string", "maxLength": MAX_SEARCH_LENGTH},
        description=(
            "Words (or quoted phrases) that each appear in the title or the description, case-insensitive in every "
            f"alphabet; at most {MAX_SEARCH_TERMS} of them and {MAX_SEARCH_LENGTH} characters (422 past either)."
        ),
    ),
    OpenApiParameter(
        "priority",
        str,
        description=(
            f"One priority, or several separated by commas (either): {', '.join(Priority.labels)}; at most "
            f"{MAX_PRIORITIES} (422 past it)."
        ),
    ),
    OpenApiParameter(
        "tag",
        {"type": "array", "items": {"type": "string"}, "maxItems": MAX_TAG_FILTERS},
        explode=True,
        description=(
            "Tasks that carry this tag (case-insensitive); repeated (`tag=work&tag=urgent`): all of them; at most "
            f"{MAX_TAG_FILTERS} times (422 past it)."
        ),
    ),
    OpenApiParameter(
        "due_after",
        {"type": "string", "format": "date-time"},
        description="Tasks due at or after this time (with a time zone; write `+` as `%2B`). Never tasks without one.",
    ),
    OpenApiParameter(
        "due_before",
        {"type": "string", "format": "date-time"},
        description="Tasks due before this time (with a time zone). Never tasks without a due date.",
    ),
    OpenApiParameter("overdue", bool, description="`true`: open tasks due before now; `false`: every other task."),
    OpenApiParameter("recurring", bool, description="`true`: tasks with a `recurrence`; `false`: tasks without."),
    OpenApiParameter(
        "ordering",
        str,
        enum=[prefix + field for field in ORDERING for prefix in ("", "-")],
        description=(
            "Sort field, `-` for descending; several separated by commas, each at most once. Default: `-created_at` "
            "(newest first). Tasks without a due date come last in both directions of `due_at`. Ties are broken by "
            "creation time, then id, so pages never overlap."
        ),
    ),
]


def list_count(request) -> int | None:
    """A list's count from the per-user counters when `request.query_params` filter by nothing they do not count
    (only `completed`); None, for the database to count, when they name any other parameter (`search`, ...). The
    REST list and the MCP tool list_tasks both ask here."""
    if set(request.query_params) - COUNTED_PARAMETERS:
        return None
    return stored_count(user_id=request.user.id, completed=CompletedFilter().requested(request))


def http_error(exc: Exception) -> Exception:
    """A refusal of the write operations (tasks/writes.py) as its HTTP error, 404, 412 or 422; any other as it is.
    The viewset and the MCP tools both translate here."""
    if isinstance(exc, writes.TaskNotFound):
        return NotFound()
    if isinstance(exc, writes.VersionMismatch):
        return PreconditionFailed()
    if isinstance(exc, writes.InvalidSchedule):
        return ValidationError(exc.errors)
    return exc


@extend_schema_view(
    list=extend_schema(summary="List tasks, newest first", parameters=LIST_PARAMETERS),
    create=extend_schema(summary="Create a task", parameters=[*IDEMPOTENCY_PARAMETERS, ETAG]),
    retrieve=extend_schema(summary="Get a task", parameters=[IF_NONE_MATCH, ETAG]),
    update=extend_schema(
        summary="Replace a task (omitted optional fields keep their values)", parameters=[IF_MATCH, ETAG]
    ),
    partial_update=extend_schema(summary="Change some fields of a task", parameters=[IF_MATCH, ETAG]),
    destroy=extend_schema(summary="Delete a task", parameters=[IF_MATCH]),
)
class TaskViewSet(UserPathMixin, viewsets.ModelViewSet):
    """Tasks of the token's user. A `user_id` in the path must be the token's `sub`, or the answer is 404."""

    serializer_class = TaskSerializer
    schema = TaskAutoSchema()
    filter_backends = [CompletedFilter, FieldFilter, SearchFilter, OrderingFilter]
    search_fields = ["title", "description"]
    ordering_fields = ORDERING
    ordering = ["-created_at"]
    # Only UUIDs route to a task, so a malformed id is a plain 404 and never reaches the database.
    lookup_value_regex = "[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular inspecting the view, with no user
            return Task.objects.none()
        tasks = Task.objects.filter(user_id=self.request.user.id)
        # A list page is read as rows, the serializer's fields only: building 50 models (each sending pre_init and
        # post_init) cost a share of a list request's CPU for objects only turned into dicts (BENCHMARKS.md).
        return tasks.values(*TaskSerializer.columns()) if self.action == "list" else tasks

    def paginate_queryset(self, queryset):
        return self.paginator.paginate_queryset(queryset, self.request, view=self, count=list_count(self.request))

    def handle_exception(self, exc):
        return super().handle_exception(http_error(exc))

    @staticmethod
    def with_etag(response: Response) -> Response:
        """A response carrying one task, with its version as its ETag (what If-Match and If-None-Match name)."""
        response["ETag"] = conditional.etag(response.data["version"])
        return response

    def create(self, request, *args, **kwargs):
        create = partial(super().create, request)
        return run_once(request, operation="create", target="tasks", write=lambda: self.with_etag(create()))

    def perform_create(self, serializer):
        serializer.instance = writes.create(user_id=self.request.user.id, fields=serializer.validated_data)

    def get_success_headers(self, data):
        # Reversed from the route, so the user id and the task id are percent-encoded as a path needs (a `sub`
        # with `?` or `#` would otherwise end the path early).
        return {"Location": self.reverse_action("detail", kwargs={**self.kwargs, "pk": data["id"]})}

    def retrieve(self, request, *args, **kwargs):
        task = self.get_object()
        if conditional.not_modified(request, version=task.version):
            return Response(status=304, headers={"ETag": conditional.etag(task.version)})
        return self.with_etag(Response(self.get_serializer(task).data))

    def update(self, request, *args, partial=False, **kwargs):
        # Validated, then written (tasks/writes.py): the task is read once, under its row lock.
        serializer = self.get_serializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        task = writes.update(
            self.get_queryset(), kwargs["pk"], serializer.validated_data, if_match=conditional.if_match(request)
        )
        return self.with_etag(Response(self.get_serializer(task).data))

    def destroy(self, request, *args, **kwargs):
        writes.delete(self.get_queryset(), kwargs["pk"], if_match=conditional.if_match(request))
        return Response(status=204)

    @extend_schema(
        summary="Flip or set a task's completed flag",
        request=CompleteSerializer,
        responses=TaskSerializer,
        parameters=[*IDEMPOTENCY_PARAMETERS, IF_MATCH, ETAG],
    )
    @action(detail=True, methods=["patch"], serializer_class=CompleteSerializer)
    def complete(self, request, *args, **kwargs):
        """Set `completed` to the value sent, or flip it when none is sent; atomic under concurrency."""
        task_id = str(uuid.UUID(kwargs["pk"]))  # one spelling of the id, so a retry matches however it is written
        return run_once(request, operation="complete", target=task_id, write=partial(self.set_completed, task_id))

    def set_completed(self, task_id: str) -> Response:
        serializer = CompleteSerializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        task = writes.set_completed(
            self.get_queryset(),
            task_id,
            serializer.validated_data.get("completed"),
            if_match=conditional.if_match(self.request),
        )
        return self.with_etag(Response(TaskSerializer(task, context=self.get_serializer_context()).data))

    @extend_schema(
        summary="What changed since a cursor: created or changed tasks and deleted ones",
        parameters=CHANGES_PARAMETERS,
        responses=ChangesPageSerializer,
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def changes(self, request, *args, **kwargs):
        """Without `since`: the current tasks, a page at a time; with it: every change after it (tasks/changes.py)."""
        query = ChangesQuerySerializer(data=request.query_params, context={"user_id": request.user.id})
        query.is_valid(raise_exception=True)
        fields = list(TaskSerializer.columns())
        page = changes.read_page(user_id=request.user.id, task_fields=fields, **query.validated_data)
        return Response(ChangesPageSerializer(page, context=self.get_serializer_context()).data)


class TagViewSet(UserPathMixin, viewsets.ViewSet):
    """The tags on the token's user's tasks, with counts."""

    schema = TaskAutoSchema()

    @extend_schema(summary="List the user's tags, most used first", responses=TagListSerializer)
    def list(self, request, *args, **kwargs):
        return Response({"results": tag_counts(Task.objects.filter(user_id=request.user.id))})

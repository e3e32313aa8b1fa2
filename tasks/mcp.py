"""The MCP server for AI agents: `POST /mcp`, the Model Context Protocol over its streamable HTTP transport.

Stateless: each POST carries one JSON-RPC message and gets its answer as one JSON response, so any worker of any
instance answers any request and nothing is kept between them (no `Mcp-Session-Id`, no SSE stream: GET is a 405, as
the transport allows). The SDK's own types (`mcp_types`) parse and validate every message and shape every result
for the protocol version in use. The SDK's server is not used: it is asyncio, and run per request from a WSGI worker
it cost 24 times what the types alone cost (bench/mcp_protocol.py, BENCHMARKS.md "MCP"), before its handlers could
even reach the ORM (which refuses to run in an event loop).

It is a DRF view, so everything REST has applies as it is: the Better Auth JWT and its 401s (whose challenge also
points at this resource's metadata, RFC 9728), the throttle, request ids, logs and metrics. The token's `sub` is the
only user a tool sees. Tools are the REST operations: their arguments are validated by the REST serializers (unknown
arguments ignored, as unknown fields are), lists go through the list's filter backends, writes through
tasks/writes.py; a refusal is the REST error body (by the one exception handler) in a result with `isError`.
Each tool's input and output schema is its serializers' (drf-spectacular's mapping, as for openapi.yaml), so a field
added to TaskSerializer is in the tools with no other edit.
"""

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import mcp_types as types
import orjson
from django.conf import settings
from django.http import QueryDict
from django.urls import reverse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry
from drf_spectacular.utils import extend_schema_field
from mcp.shared.exceptions import MCPError
from mcp_types import methods
from mcp_types.jsonrpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    UNSUPPORTED_PROTOCOL_VERSION,
    JSONRPCRequest,
    jsonrpc_message_adapter,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION
from pydantic import ValidationError as PydanticValidationError
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from todo_project.errors import exception_handler
from todo_project.json import ORJSONRenderer
from todo_project.metrics import MCP_TOOL_CALLS
from todo_project.views import PublicView

from . import writes
from .models import Task
from .serializers import StrictBooleanField, StrictCharField, TagCountSerializer, TagField, TaskSerializer
from .tags import tag_counts
from .views import ORDERING, TaskViewSet, http_error, list_count

logger = logging.getLogger(__name__)

PROTOCOL_VERSION_HEADER = "MCP-Protocol-Version"
# Without the header, the transport says to assume 2025-03-26 (the first version that had the header).
DEFAULT_PROTOCOL_VERSION = types.DEFAULT_NEGOTIATED_VERSION
SERVER_INFO = types.Implementation(name="todo-api", title="Todo API", version="1.0.0")
INSTRUCTIONS = (
    "The signed-in user's tasks. Find a task's `id` with list_tasks (filters: status, search, priority, tag, "
    "due_after, due_before, overdue, recurring) before get_task, update_task, complete_task or delete_task."
)
# The task's fields a tool may set: those a REST client may write, but `completed`, which complete_task sets.
NOT_TASK_ARGUMENTS = {"completed"}
LIST_LIMIT, MAX_LIST_LIMIT = 20, 100
STATUS_FILTER = {"all": None, "pending": "false", "completed": "true"}


# --- Arguments and results that are not a task: serializers, so that they validate and document as the task does.
class TaskIdArguments(serializers.Serializer):
    task_id = serializers.UUIDField(help_text="The task's `id` (from list_tasks or add_task).")


class CompleteTaskArguments(TaskIdArguments):
    completed = StrictBooleanField(default=True, help_text="`true` (the default) completes it, `false` reopens it.")


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
class TagsArgument(serializers.ListField):
    """One tag, or several (the tasks that carry all of them)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(child=TagField(), **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value([data] if isinstance(data, str) else data)


class ListTasksArguments(serializers.Serializer):
    """What list_tasks takes: the REST list's filters (checked by its filter backends), `status` for `completed`."""

    status = serializers.ChoiceField(choices=list(STATUS_FILTER), default="all", help_text="Which tasks, by state.")
    search = StrictCharField(required=False, allow_blank=True, help_text="Text in the title or the description.")
    priority = StrictCharField(
        required=False, help_text="One priority or several separated by commas (either): none, low, medium, high."
    )
    tag = TagsArgument(required=False, help_text="A tag, or several tags (tasks carrying all of them).")
    due_after = StrictCharField(required=False, help_text="Tasks due at or after this ISO 8601 time with a zone.")
    due_before = StrictCharField(required=False, help_text="Tasks due before this ISO 8601 time with a zone.")
    overdue = StrictBooleanField(required=False, help_text="`true`: open tasks due before now; `false`: the others.")
    recurring = StrictBooleanField(required=False, help_text="`true`: tasks with a recurrence; `false`: without.")
    ordering = serializers.ChoiceField(
        choices=[prefix + field for field in ORDERING for prefix in ("", "-")],
        required=False,
        help_text="Sort field, `-` for descending; default `-created_at` (newest first).",
    )
    limit = serializers.IntegerField(
        min_value=1, default=LIST_LIMIT, help_text=f"At most this many tasks (at most {MAX_LIST_LIMIT})."
    )


class TaskListResult(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many tasks match, even when fewer are returned.")
    tasks = TaskSerializer(many=True)


class DeletedTaskResult(serializers.Serializer):
    task_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["deleted"])
    title = serializers.CharField()


class TagListResult(serializers.Serializer):
    tags = TagCountSerializer(many=True)


class NoArguments(serializers.Serializer):
    pass


# --- Schemas: the serializers' JSON Schema, as drf-spectacular maps them for openapi.yaml -------------------------
def json_schema(serializer: serializers.Serializer, *, direction: str) -> dict[str, Any]:
    """The JSON Schema of `serializer` (`request`: the fields a client writes; `response`: all), self-contained."""
    auto = AutoSchema()
    auto.registry, auto.method, auto.path = ComponentRegistry(), "POST", "/mcp"
    auto.view = APIView()
    auto.view.request = None
    schema = auto._map_serializer(serializer, direction)
    components = auto.registry.build({}).get("schemas", {})
    return plain_json_schema(schema, components)


def plain_json_schema(schema: Any, components: dict[str, Any]) -> Any:
    """OpenAPI 3.0's dialect as plain JSON Schema, which MCP's tool schemas are: components inlined, `nullable` as
    a `null` type, and no vendor extensions."""
    if isinstance(schema, list):
        return [plain_json_schema(item, components) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return plain_json_schema(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    plain = {
        key: plain_json_schema(value, components)
        for key, value in schema.items()
        if key != "nullable" and not key.startswith("x-")
    }
    if schema.get("nullable"):
        if isinstance(plain.get("type"), str):
            plain["type"] = [plain["type"], "null"]
            if "enum" in plain:
                plain["enum"] = [*plain["enum"], None]
        else:
            plain = {"anyOf": [plain, {"type": "null"}]}
    return plain


def merged(*schemas: dict[str, Any], leave_out: set[str] = frozenset()) -> dict[str, Any]:
    """One object schema with the properties of `schemas` (but those in `leave_out`) and their required ones."""
    properties = {
        name: field for schema in schemas for name, field in schema["properties"].items() if name not in leave_out
    }
    required = [name for schema in schemas for name in schema.get("required", []) if name in properties]
    return {"type": "object", "properties": properties, **({"required": required} if required else {})}


@functools.cache
def task_arguments(*, partial: bool) -> dict[str, Any]:
    """The task's fields a tool takes, with their schema (made once per process: mapping them costs milliseconds)."""
    return merged(json_schema(TaskSerializer(partial=partial), direction="request"), leave_out=NOT_TASK_ARGUMENTS)


# --- The tools ----------------------------------------------------------------------------------------------------
def validated(serializer: serializers.Serializer) -> dict[str, Any]:
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def task_fields(arguments: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The task fields among `arguments`, validated by the REST rules (anything else is ignored, as in REST)."""
    names = task_arguments(partial=partial)["properties"]
    data = {name: value for name, value in arguments.items() if name in names}
    return validated(TaskSerializer(data=data, partial=partial))


def own_tasks(request):
    """The tasks a tool may see and write: the token's user's, and nobody else's."""
    return Task.objects.filter(user_id=request.user.id)


def task_data(task: Task) -> dict[str, Any]:
    return TaskSerializer(task).data


def add_task(request, arguments: dict[str, Any]) -> dict[str, Any]:
    return task_data(writes.create(user_id=request.user.id, fields=task_fields(arguments, partial=False)))


def get_task(request, arguments: dict[str, Any]) -> dict[str, Any]:
    task = own_tasks(request).filter(pk=validated(TaskIdArguments(data=arguments))["task_id"]).first()
    if task is None:
        raise exceptions.NotFound()
    return task_data(task)


def update_task(request, arguments: dict[str, Any]) -> dict[str, Any]:
    task_id = validated(TaskIdArguments(data=arguments))["task_id"]
    return task_data(writes.update(own_tasks(request), task_id, task_fields(arguments, partial=True)))


def complete_task(request, arguments: dict[str, Any]) -> dict[str, Any]:
    values = validated(CompleteTaskArguments(data=arguments))
    return task_data(writes.set_completed(own_tasks(request), values["task_id"], values["completed"]))


def delete_task(request, arguments: dict[str, Any]) -> dict[str, Any]:
    task_id = validated(TaskIdArguments(data=arguments))["task_id"]
    title = own_tasks(request).filter(pk=task_id).values_list("title", flat=True).first()
    if title is None:
        raise exceptions.NotFound()
    writes.delete(own_tasks(request), task_id)
    return {"task_id": task_id, "status": "deleted", "title": title}


def list_tasks(request, arguments: dict[str, Any]) -> dict[str, Any]:
    """The REST list's filters, search and order (its own filter backends, reading the arguments as its query),
    and its count: the per-user counters when only the state is asked for, as the REST list does."""
    values = validated(ListTasksArguments(data=arguments))
    as_rest = SimpleNamespace(query_params=list_query(values), user=request.user)  # the REST list's request
    tasks = own_tasks(request)
    for backend in TaskViewSet.filter_backends:
        tasks = backend().filter_queryset(as_rest, tasks, TaskViewSet)
    count = list_count(as_rest)
    if count is None:
        count = tasks.count()
    rows = tasks.values(*TaskSerializer.columns())[: min(values["limit"], MAX_LIST_LIMIT)]
    return {"count": count, "tasks": TaskSerializer(rows, many=True).data}


def list_query(values: dict[str, Any]) -> QueryDict:
    """list_tasks' arguments as the REST list's query string."""
    query = QueryDict(mutable=True)
    if completed := STATUS_FILTER[values["status"]]:
        query["completed"] = completed
    for name in ("search", "priority", "due_after", "due_before", "ordering"):
        if name in values:
            query[name] = values[name]
    for flag in ("overdue", "recurring"):
        if flag in values:
            query[flag] = "true" if values[flag] else "false"
    if values.get("tag"):
        query.setlist("tag", values["tag"])
    return query


def list_tags(request, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"tags": tag_counts(own_tasks(request))}


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    description: str
    call: Callable[[Any, dict[str, Any]], dict[str, Any]]
    arguments: Callable[[], dict[str, Any]]
    result: type[serializers.Serializer]
    annotations: types.ToolAnnotations

    def declaration(self) -> types.Tool:
        return types.Tool(
            name=self.name,
            title=self.title,
            description=self.description,
            input_schema=self.arguments(),
            output_schema=json_schema(self.result(), direction="response"),
            annotations=self.annotations,
        )


READ = types.ToolAnnotations(read_only_hint=True, open_world_hint=False)
TOOLS = {
    tool.name: tool
    for tool in [
        Tool(
            "add_task",
            "Add a task",
            "Add a task to the user's list. Only `title` is required; `due_at` needs a time zone (Z or an offset).",
            add_task,
            lambda: task_arguments(partial=False),
            TaskSerializer,
            types.ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False),
        ),
        Tool(
            "list_tasks",
            "List tasks",
            "The user's tasks, newest first, filtered and ordered as asked; `count` is how many match in all.",
            list_tasks,
            lambda: json_schema(ListTasksArguments(), direction="request"),
            TaskListResult,
            READ,
        ),
        Tool(
            "get_task",
            "Get a task",
            "One task of the user, by its id.",
            get_task,
            lambda: json_schema(TaskIdArguments(), direction="request"),
            TaskSerializer,
            READ,
        ),
        Tool(
            "update_task",
            "Change a task",
            "Change the fields given of one task (the others keep their values).",
            update_task,
            lambda: merged(json_schema(TaskIdArguments(), direction="request"), task_arguments(partial=True)),
            TaskSerializer,
            types.ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True),
        ),
        Tool(
            "complete_task",
            "Complete a task",
            "Mark a task completed (or open again with `completed: false`); it sets the state, it never flips it.",
            complete_task,
            lambda: json_schema(CompleteTaskArguments(), direction="request"),
            TaskSerializer,
            types.ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True),
        ),
        Tool(
            "delete_task",
            "Delete a task",
            "Delete one task of the user for good.",
            delete_task,
            lambda: json_schema(TaskIdArguments(), direction="request"),
            DeletedTaskResult,
            types.ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True),
        ),
        Tool(
            "list_tags",
            "List tags",
            "The tags on the user's tasks, with how many tasks carry each, most used first.",
            list_tags,
            lambda: json_schema(NoArguments(), direction="request"),
            TagListResult,
            READ,
        ),
    ]
}


@functools.cache
def tool_declarations() -> list[types.Tool]:
    """tools/list's tools, made once per process (the serializers do not change while it runs)."""
    return [tool.declaration() for tool in TOOLS.values()]


def call_tool(request, params: types.CallToolRequestParams) -> types.CallToolResult:
    """One tool call: its result, or the REST error body of its refusal as a result with `isError`."""
    tool = TOOLS.get(params.name)
    if tool is None:
        raise MCPError(INVALID_PARAMS, f"Unknown tool: {params.name}")
    try:
        data = tool.call(request, params.arguments or {})
    except (exceptions.APIException, writes.TaskNotFound, writes.VersionMismatch, writes.InvalidSchedule) as exc:
        refusal = exception_handler(http_error(exc), {"request": request})
        MCP_TOOL_CALLS.labels(tool.name, "error").inc()
        logger.info("MCP tool %s refused: %s", tool.name, refusal.data["detail"])
        return types.CallToolResult(content=[text_content(refusal.data)], is_error=True)
    MCP_TOOL_CALLS.labels(tool.name, "ok").inc()
    content = text_content(data)
    return types.CallToolResult(content=[content], structured_content=orjson.loads(content.text))


def text_content(data: Any) -> types.TextContent:
    """`data` as JSON text, written as the REST API writes it (UUIDs as strings, UTC times ending in Z)."""
    return types.TextContent(type="text", text=ORJSONRenderer().render(data).decode())


# --- The HTTP side ------------------------------------------------------------------------------------------------
def rpc_error(request_id: Any, code: int, message: str, *, data: Any = None, status: int = 200) -> Response:
    error = types.ErrorData(code=code, message=message, data=data)
    body = {"jsonrpc": "2.0", "id": request_id, "error": error.model_dump(mode="json", exclude_none=True)}
    return Response(body, status=status)


def id_of(body: Any) -> Any:
    """The id of a message that is not valid JSON-RPC, when it has a usable one (else null, as JSON-RPC says)."""
    request_id = body.get("id") if isinstance(body, dict) else None
    return request_id if isinstance(request_id, (str, int)) and not isinstance(request_id, bool) else None


class MCPView(APIView):
    """`POST /mcp`: one JSON-RPC message of the Model Context Protocol; the answer as JSON (202 for a notification)."""

    schema = None  # not part of the REST API's OpenAPI document

    def get_authenticate_header(self, request) -> str | None:
        """REST's challenge, with where an agent finds how to get a token (RFC 9728, section 5.1)."""
        challenge = super().get_authenticate_header(request)
        return f'{challenge}, resource_metadata="{metadata_url(request)}"' if challenge else challenge

    def post(self, request, *args, **kwargs):
        try:
            body = request.data
        except exceptions.ParseError as exc:
            return rpc_error(None, PARSE_ERROR, f"Parse error: {exc.detail}", status=400)
        try:
            message = jsonrpc_message_adapter.validate_python(body, by_name=False)
        except PydanticValidationError:
            return rpc_error(id_of(body), INVALID_REQUEST, "Invalid Request: not one JSON-RPC 2.0 message", status=400)
        if not isinstance(message, JSONRPCRequest):
            return Response(status=202)  # a notification, or a response to a request this server never sends
        version = request.headers.get(PROTOCOL_VERSION_HEADER, DEFAULT_PROTOCOL_VERSION)
        if message.method != "initialize" and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            supported = types.UnsupportedProtocolVersionErrorData(
                supported=list(HANDSHAKE_PROTOCOL_VERSIONS), requested=version
            )
            return rpc_error(
                message.id,
                UNSUPPORTED_PROTOCOL_VERSION,
                f"Unsupported protocol version: {version}",
                data=supported.model_dump(mode="json"),
                status=400,
            )
        try:
            result = self.answer(request, message, version)
        except MCPError as exc:
            return rpc_error(message.id, exc.code, exc.message, data=exc.data)
        return Response({"jsonrpc": "2.0", "id": message.id, "result": result})

    def answer(self, request, message: JSONRPCRequest, version: str) -> dict[str, Any]:
        """The result of a request, shaped and checked for `version` by the SDK; MCPError for a protocol error."""
        try:
            parsed = methods.parse_client_request(message.method, version, message.params)
        except KeyError:
            raise MCPError(METHOD_NOT_FOUND, "Method not found", data=message.method) from None
        except PydanticValidationError as exc:
            raise MCPError(INVALID_PARAMS, "Invalid request parameters", data=str(exc)) from None
        if isinstance(parsed, types.InitializeRequest):
            requested = parsed.params.protocol_version
            version = requested if requested in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION
            result = types.InitializeResult(
                protocol_version=version,
                capabilities=types.ServerCapabilities(tools=types.ToolsCapability(list_changed=False)),
                server_info=SERVER_INFO,
                instructions=INSTRUCTIONS,
            )
        elif isinstance(parsed, types.PingRequest):
            result = types.EmptyResult()
        elif isinstance(parsed, types.ListToolsRequest):
            result = types.ListToolsResult(tools=tool_declarations())
        elif isinstance(parsed, types.CallToolRequest):
            result = call_tool(request, parsed.params)
        else:
            raise MCPError(METHOD_NOT_FOUND, "Method not found", data=message.method)
        dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        return methods.serialize_server_result(message.method, version, dumped)


def metadata_url(request) -> str:
    return request.build_absolute_uri(reverse("mcp-resource-metadata"))


class ProtectedResourceMetadata(PublicView):
    """RFC 9728 metadata of `/mcp`: the resource, and Better Auth as the server that issues its tokens."""

    schema = None

    def get(self, request, *args, **kwargs):
        return Response(
            {
                "resource": request.build_absolute_uri(reverse("mcp")),
                "authorization_servers": [settings.BETTER_AUTH_URL],
                "bearer_methods_supported": ["header"],
            }
        )

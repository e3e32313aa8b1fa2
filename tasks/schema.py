"""The tasks API's part of the OpenAPI document: its headers and parameters (conditional requests, Idempotency-Key,
the changes feed), its error codes per action, and StrictCharField's pattern. The project-wide pieces are in
todo_project/schema.py."""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter

from todo_project.schema import ApiAutoSchema

# Unicode category Cc, which StrictCharField refuses (line breaks and tabs are allowed where it is multiline).
CONTROL = r"\x00-\x1f\x7f-\x9f"
MULTILINE_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"

IDEMPOTENCY_PARAMETERS = [
    OpenApiParameter(
        "Idempotency-Key",
        str,
        OpenApiParameter.HEADER,
        pattern=r"^[\x20-\x7e]{1,255}$",
        description=(
            "Makes the request safe to retry: a retry with the same key and the same request gets the first "
            "response again (with `Idempotent-Replayed: true`) and changes nothing; the same key with another request "
            "is a 422 with `code: idempotency_key_reused`. Kept for 24 hours; a failed request keeps nothing."
        ),
    ),
    OpenApiParameter(
        "Idempotent-Replayed",
        str,
        OpenApiParameter.HEADER,
        enum=["true"],
        response=[200, 201],
        description="This is the kept response of an earlier request with the same Idempotency-Key.",
    ),
]
ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 201, 304],
    description='The task\'s `version`, quoted (`"3"`): send it back as If-Match (or If-None-Match).',
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="ETags (or `*`): when one is the task's current ETag, the answer is 304 with no body.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description=(
        'The ETag(s) read (`"3"`, a comma-separated list, or `*`): the write happens only if the task still has '
        "one of them, else 412 `precondition_failed` and nothing changes. Checked under the write's own lock on the "
        "task, so of two writes sent with the same If-Match at most one succeeds. ETags compare as exact strings "
        '(`"02"` is not `"2"`). Without it a write is unconditional.'
    ),
)
CHANGES_PARAMETERS = [
    OpenApiParameter(
        "since",
        str,
        description=(
            "The `cursor` of the previous page. Without it: the current tasks (no deletions), a page at a time."
        ),
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1},
        description="Changes per page: 100 by default, at most 500 (larger is capped).",
    ),
]


class TaskAutoSchema(ApiAutoSchema):
    def get_tags(self) -> list[str]:
        return ["tasks"]

    def view_error_codes(self) -> list[int]:
        conditional_write = [412]
        idempotent = [409]  # an Idempotency-Key whose first request is still running
        return {
            "changes": [410, 422],
            "retrieve": [304],
            "create": idempotent,
            "update": conditional_write,
            "partial_update": conditional_write,
            "destroy": conditional_write,
            "complete": [*conditional_write, *idempotent],
        }.get(getattr(self.view, "action", None), [])


class StrictCharFieldExtension(OpenApiSerializerFieldExtension):
    """StrictCharField refuses control characters and, unless blank is allowed, text that is only whitespace."""

    target_class = "tasks.serializers.StrictCharField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request":
            allowed = f"[^{MULTILINE_CONTROL if self.target.allowed_controls else CONTROL}]"
            if self.target.allow_blank:  # drf-spectacular adds a oneOf branch for "", so this one must not match it
                schema["pattern"] = f"^{allowed}+$"
            else:
                schema["pattern"] = rf"^{allowed}*[^\s{CONTROL}]{allowed}*$"
        return schema

"""The OpenAPI document: valid, committed as generated, and true to what the API really answers."""

import io
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from django import urls
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from rest_framework import generics, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.routers import SimpleRouter
from rest_framework.test import APIClient

from tasks.models import Task

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "make openapi"


def generate() -> str:
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return yaml.safe_load(generate())


def test_schema_validates_without_warnings():
    generate()  # --validate raises on an invalid document, --fail-on-warn on any warning


def test_committed_openapi_yaml_is_what_the_code_generates():
    committed = (ROOT / "openapi.yaml").read_text()
    assert committed == generate(), f"openapi.yaml is out of date: run `{REGENERATE}` and commit it."


def test_schema_is_public_and_lists_both_route_families():
    response = APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    expected = {
        "/api/tasks",
        "/api/tasks/{id}",
        "/api/tasks/{id}/complete",
        "/api/tasks/changes",
        "/api/{user_id}/tasks",
        "/api/{user_id}/tasks/{id}",
        "/api/{user_id}/tasks/{id}/complete",
        "/api/account",
        "/api/account/export",
        "/api/{user_id}/account",
        "/api/{user_id}/account/export",
        "/api/{user_id}/tasks/changes",
        "/api/tags",
        "/api/{user_id}/tags",
        "/health",
        "/health/ready",
    }
    assert set(schema["paths"]) == expected
    scheme = schema["components"]["securitySchemes"]["BetterAuthJWT"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")


def operation_ids(schema: dict[str, Any]) -> list[str]:
    return [op["operationId"] for item in schema["paths"].values() for op in item.values()]


def test_operation_ids_are_unique_and_camel_case(schema):
    ids = operation_ids(schema)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert [i for i in ids if not re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)+", i)] == []


@pytest.mark.parametrize(
    ("path", "method", "operation_id"),
    [
        (family + tail, method, verb + user + noun)
        for family, user in [("/api/tasks", ""), ("/api/{user_id}/tasks", "User")]
        for tail, method, verb, noun in [
            ("", "get", "list", "Tasks"),
            ("", "post", "create", "Task"),
            ("/{id}", "get", "get", "Task"),
            ("/{id}", "put", "replace", "Task"),
            ("/{id}", "patch", "update", "Task"),
            ("/{id}", "delete", "delete", "Task"),
            ("/{id}/complete", "patch", "complete", "Task"),
        ]
    ],
)
def test_task_operations_have_readable_ids(schema, path, method, operation_id):
    assert schema["paths"][path][method]["operationId"] == operation_id


class Word(serializers.Serializer):
    name = serializers.CharField()


class ThingViewSet(viewsets.ModelViewSet):
    """Routes another change might add, to show the rule names them without help."""

    serializer_class = Word
    queryset = Task.objects.none()

    @action(detail=False, methods=["get"])
    def changes(self, request, *args, **kwargs): ...

    @action(detail=True, methods=["post"], url_path="move-up")
    def move_up(self, request, *args, **kwargs): ...


class ExportView(generics.RetrieveDestroyAPIView):
    serializer_class = Word


class TagsView(generics.ListAPIView):
    serializer_class = Word


@pytest.mark.parametrize(
    ("route", "method", "operation_id"),
    [
        ("/api/things/changes", "get", "getThingChanges"),
        ("/api/{user_id}/things/changes", "get", "getUserThingChanges"),
        ("/api/things/{id}/move-up", "post", "moveUpThing"),
        ("/api/{user_id}/things/{id}", "delete", "deleteUserThing"),
        ("/api/account/export", "get", "getAccountExport"),
        ("/api/{user_id}/account/export", "delete", "deleteUserAccountExport"),
        ("/api/tags", "get", "listTags"),
        ("/api/{user_id}/tags", "get", "listUserTags"),
    ],
)
def test_new_routes_get_readable_ids_from_the_rule(route, method, operation_id):
    router = SimpleRouter()
    router.register(r"things", ThingViewSet, basename="thing")
    router.register(r"(?P<user_id>[^/]+)/things", ThingViewSet, basename="user-thing")
    patterns = [
        urls.path("api/", urls.include(router.urls)),
        urls.path("api/account/export", ExportView.as_view()),
        urls.path("api/<str:user_id>/account/export", ExportView.as_view()),
        urls.path("api/tags", TagsView.as_view()),
        urls.path("api/<str:user_id>/tags", TagsView.as_view()),
    ]
    generated = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    assert generated["paths"][route][method]["operationId"] == operation_id


@pytest.fixture
def docs_page():
    response = APIClient().get("/api/docs")
    assert response.status_code == 200
    assert b"SwaggerUIBundle" in response.content
    return response.content.decode()


def test_docs_page_refers_to_no_other_host(docs_page):
    assert re.findall(r"(?:https?:)?//[\w.-]+", docs_page) == []


def test_docs_page_assets_are_served_by_the_api(docs_page):
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs_page)
    assert len(assets) >= 3  # the favicon, the stylesheet and the scripts
    for asset in assets:
        response = APIClient().get(asset)
        assert response.status_code == 200, asset
        assert b"".join(response.streaming_content if response.streaming else [response.content]), asset


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/tasks", "get", {"200", "401", "404", "422", "429", "503"}),
        ("/api/tasks", "post", {"201", "400", "401", "409", "413", "415", "422", "429", "503"}),
        ("/api/{user_id}/tasks", "post", {"201", "400", "401", "404", "409", "413", "415", "422", "429", "503"}),
        ("/api/tasks/{id}", "get", {"200", "304", "401", "404", "429", "503"}),
        ("/api/tasks/{id}", "put", {"200", "400", "401", "404", "412", "413", "415", "422", "429", "503"}),
        ("/api/tasks/{id}", "delete", {"204", "401", "404", "412", "429", "503"}),
        (
            "/api/tasks/{id}/complete",
            "patch",
            {"200", "400", "401", "404", "409", "412", "413", "415", "422", "429", "503"},
        ),
        ("/api/account/export", "get", {"200", "401", "429", "503"}),
        ("/api/{user_id}/account/export", "get", {"200", "401", "404", "429", "503"}),
        ("/api/account", "delete", {"204", "401", "429", "503"}),
        ("/api/{user_id}/account", "delete", {"204", "401", "404", "429", "503"}),
        ("/api/tasks/changes", "get", {"200", "401", "410", "422", "429", "503"}),
        ("/api/{user_id}/tasks/changes", "get", {"200", "401", "404", "410", "422", "429", "503"}),
        ("/health", "get", {"200"}),
        ("/health/ready", "get", {"200", "503"}),
    ],
)
def test_each_route_documents_the_errors_it_gives(schema, path, method, codes):
    assert set(schema["paths"][path][method]["responses"]) == codes


def test_list_query_parameters_are_documented(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/tasks"]["get"]["parameters"]}
    assert set(parameters) == {
        "page",
        "page_size",
        "completed",
        "search",
        "priority",
        "tag",
        "due_after",
        "due_before",
        "overdue",
        "recurring",
        "ordering",
    }
    assert parameters["completed"]["schema"] == {"type": "boolean"}
    assert parameters["tag"]["schema"] == {"type": "array", "items": {"type": "string"}, "maxItems": 20}
    assert parameters["search"]["schema"] == {"type": "string", "maxLength": 1000}
    assert parameters["due_after"]["schema"] == {"type": "string", "format": "date-time"}
    assert {"-created_at", "due_at", "-due_at", "priority", "-priority"} <= set(
        parameters["ordering"]["schema"]["enum"]
    )


def test_every_task_field_is_required_in_responses(schema):
    task = schema["components"]["schemas"]["Task"]
    assert set(task["required"]) == set(task["properties"])


# --- The schema is true to real responses ------------------------------------------------------------------------


def as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects as JSON Schema: `nullable: true` becomes a union with null."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: as_json_schema(value) for key, value in node.items() if key != "nullable"}
    return {"anyOf": [converted, {"type": "null"}]} if node.get("nullable") else converted


def assert_conforms(schema: dict[str, Any], response, path: str, method: str) -> None:
    """The status is documented for the operation, its headers are there and the body matches its schema."""
    documented = schema["paths"][path][method]["responses"]
    assert str(response.status_code) in documented, (path, method, response.status_code)
    spec = documented[str(response.status_code)]
    occasional = {"Retry-After": response.status_code != 429, "Idempotent-Replayed": True}  # only on a replay
    for header in spec.get("headers", {}):
        if not occasional.get(header, False):
            assert response.has_header(header), (header, path, method)
    content = spec.get("content")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if content is None:
        assert body == b""
        return
    assert response["Content-Type"].startswith("application/json")
    body_schema = {
        **as_json_schema(content["application/json"]["schema"]),
        "components": as_json_schema(schema["components"]),
    }
    jsonschema.validate(json.loads(body), body_schema)


@pytest.mark.django_db
@pytest.mark.parametrize("family", ["/api/tasks", "/api/{user_id}/tasks"])
def test_real_successes_match_the_schema(schema, alice, family):
    base = family.replace("{user_id}", "alice")
    created = alice.post(base, {"title": "Buy milk", "description": None}, format="json")
    assert_conforms(schema, created, family, "post")
    task = f"{base}/{created.json()['id']}"
    detail = f"{family}/{{id}}"
    assert_conforms(schema, alice.get(base, {"completed": "false", "ordering": "-title"}), family, "get")
    assert_conforms(schema, alice.get(task), detail, "get")
    assert_conforms(schema, alice.put(task, {"title": "Buy oat milk"}, format="json"), detail, "put")
    assert_conforms(schema, alice.patch(task, {"description": "2 litres"}, format="json"), detail, "patch")
    assert_conforms(schema, alice.patch(f"{task}/complete"), f"{detail}/complete", "patch")
    assert_conforms(schema, alice.delete(task), detail, "delete")


@pytest.mark.django_db
@pytest.mark.parametrize("family", ["/api/account", "/api/{user_id}/account"])
def test_real_account_answers_match_the_schema(schema, alice, client_for, make_task, family):
    base = family.replace("{user_id}", "alice")
    make_task(user_id="alice", description="2 litres")
    assert_conforms(schema, alice.get(f"{base}/export"), f"{family}/export", "get")
    stale = client_for("alice", iat=int(time.time()) - 3600).delete(base)
    assert (stale.status_code, stale.json()["code"]) == (401, "token_not_fresh")
    assert_conforms(schema, stale, family, "delete")
    assert_conforms(schema, alice.delete(base), family, "delete")


@pytest.mark.django_db
def test_real_errors_match_the_schema(schema, alice, make_task, settings):
    missing = f"/api/tasks/{uuid.uuid4()}"
    task = f"/api/tasks/{make_task(user_id='alice').id}"
    cases = [
        (APIClient().get("/api/tasks"), "/api/tasks", "get", 401),
        (alice.get("/api/tasks", {"page": "9"}), "/api/tasks", "get", 404),
        (alice.get("/api/tasks", {"page_size": "0"}), "/api/tasks", "get", 422),
        (alice.get("/api/bob/tasks"), "/api/{user_id}/tasks", "get", 404),
        (alice.get(missing), "/api/tasks/{id}", "get", 404),
        (alice.post("/api/tasks", "{", content_type="application/json"), "/api/tasks", "post", 400),
        (alice.post("/api/tasks", "title=x", content_type="text/plain"), "/api/tasks", "post", 415),
        (alice.post("/api/tasks", {"title": " "}, format="json"), "/api/tasks", "post", 422),
        (alice.patch(task, {"completed": "yes"}, format="json"), "/api/tasks/{id}", "patch", 422),
    ]
    big = '{"title": "' + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}'
    cases.append((alice.post("/api/tasks", big, content_type="application/json"), "/api/tasks", "post", 413))
    for response, path, method, status in cases:
        assert response.status_code == status, (path, method, response.json())
        assert_conforms(schema, response, path, method)


@pytest.mark.django_db
def test_real_throttle_and_outage_answers_match_the_schema(schema, client_for, better_auth, settings):
    settings.THROTTLE_USER_RATE = "1/min"
    carol = client_for(f"carol-{uuid.uuid4()}", alg="HS256")
    carol.get("/api/tasks")
    throttled = carol.get("/api/tasks")
    assert throttled.status_code == 429
    assert_conforms(schema, throttled, "/api/tasks", "get")

    better_auth.failing = True
    unavailable = client_for("dave").get("/api/tasks")  # EdDSA: its key cannot be fetched
    assert unavailable.status_code == 503
    assert_conforms(schema, unavailable, "/api/tasks", "get")

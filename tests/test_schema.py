"""The OpenAPI document and the interactive docs."""

from rest_framework.test import APIClient


def test_schema_is_public_and_lists_both_route_families():
    response = APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    for path in ["/api/tasks", "/api/{user_id}/tasks", "/api/tasks/{id}", "/api/tasks/{id}/complete", "/health"]:
        assert any(p.rstrip("/") == path for p in paths), path
    scheme = schema["components"]["securitySchemes"]["BetterAuthJWT"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")


def test_operation_ids_are_unique():
    schema = APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))


def test_docs_page_is_served():
    response = APIClient().get("/api/docs")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()

"""Request bodies sent with `Transfer-Encoding: chunked` (no Content-Length), through the Procfile's own server."""

import io
import json
import wsgiref.util

import pytest
from django.conf import settings

from tests.live import call, procfile_server
from todo_project.wsgi import application


@pytest.fixture(scope="module")
def server(production_database, jwks_server, tmp_path_factory):
    log = tmp_path_factory.mktemp("chunked") / "server.log"
    with procfile_server(production_database, jwks_server.url, log, "--workers", "1") as url:
        yield url


@pytest.fixture
def send(server, make_token):
    """A request of user `chunked` to the server: `body` with a Content-Length, or `chunks` chunked."""
    headers = [("Authorization", f"Bearer {make_token(sub='chunked', alg='HS256')}")]

    def request(method, path, *, body=None, chunks=None, content_type="application/json"):
        return call(server, method, path, headers=[*headers, ("Content-Type", content_type)], body=body, chunks=chunks)

    return request


def as_chunks(document: dict) -> list[bytes]:
    """The JSON of `document` cut into pieces of 5 bytes, as a stream would send it."""
    data = json.dumps(document).encode()
    return [data[n : n + 5] for n in range(0, len(data), 5)]


def created_task(send, **fields) -> dict:
    response = send("POST", "/api/tasks", body=json.dumps({"title": "Sent whole", **fields}).encode())
    assert response.status == 201, response.body
    return response.json()


def test_a_chunked_create_makes_the_task_with_its_title(send):
    response = send("POST", "/api/tasks", chunks=as_chunks({"title": "Sent in chunks", "priority": "high"}))
    assert response.status == 201, response.body
    task = send("GET", f"/api/tasks/{response.json()['id']}").json()
    assert (task["title"], task["priority"]) == ("Sent in chunks", "high")


def test_a_chunked_patch_changes_the_title(send):
    task = created_task(send)
    response = send("PATCH", f"/api/tasks/{task['id']}", chunks=as_chunks({"title": "Renamed in chunks"}))
    assert response.status == 200, response.body
    assert send("GET", f"/api/tasks/{task['id']}").json()["title"] == "Renamed in chunks"


def test_a_chunked_complete_sets_the_flag_sent_instead_of_flipping_it(send):
    task = created_task(send, completed=True)
    response = send("PATCH", f"/api/tasks/{task['id']}/complete", chunks=as_chunks({"completed": True}))
    assert response.status == 200, response.body
    assert send("GET", f"/api/tasks/{task['id']}").json()["completed"] is True


def test_a_chunked_body_over_the_limit_is_413_as_any_other(send):
    big = json.dumps({"title": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}).encode()
    whole = send("POST", "/api/tasks", body=big)
    chunked = send("POST", "/api/tasks", chunks=[big[n : n + 8192] for n in range(0, len(big), 8192)])
    assert whole.status == chunked.status == 413
    assert chunked.json() == whole.json()


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [("application/json", b'{"title": ', 400), ("text/plain", b"a title", 415)],
)
def test_a_chunked_body_that_is_not_json_is_refused_as_any_other(send, content_type, body, status):
    whole = send("POST", "/api/tasks", body=body, content_type=content_type)
    chunked = send("POST", "/api/tasks", chunks=[body[:3], body[3:]], content_type=content_type)
    assert whole.status == chunked.status == status
    assert chunked.json() == whole.json()


def test_a_server_that_does_not_decode_chunks_gets_411_not_an_empty_body():
    """runserver (wsgiref) passes the raw chunks on and does not say the stream ends with the body."""
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/tasks", "HTTP_TRANSFER_ENCODING": "chunked"}
    wsgiref.util.setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO(b'5\r\n{"a":\r\n0\r\n\r\n')
    started = []
    body = b"".join(application(environ, lambda status, headers: started.append((status, dict(headers)))))
    assert started[0][0] == "411 Length Required"
    assert started[0][1]["Content-Type"] == "application/json"
    assert "Content-Length" in json.loads(body)["detail"]
    assert started[0][1]["X-Request-ID"]  # answered before the middleware, with a request id all the same

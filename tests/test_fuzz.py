"""Fuzzing the running API from its own OpenAPI document with schemathesis: no server error, every status is
documented, and every answer has the documented shape."""

import json

import hypothesis
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tasks.models import Task

USER = "fuzzer"


def served_schema() -> dict:
    """The document /api/schema serves (read in-process: the live server starts only once tests run)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


schema = schemathesis.openapi.from_dict(served_schema()).exclude(path_regex="^/api/(schema|docs)")


def heads(value: object) -> bool:
    """A coin flip that hypothesis can replay: the same generated value always gives the same side."""
    text = str(value)
    return bool(text) and ord(text[-1]) % 2 == 1


@schema.parametrize()
@hypothesis.settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_api_answers_as_documented(case, live_server, make_token, make_task):
    # Half the requests name the token's own user and an existing task, so that successes are exercised too.
    parameters = case.path_parameters or {}
    if "user_id" in parameters and heads(parameters["user_id"]):
        case.path_parameters["user_id"] = USER
    if "id" in parameters and heads(parameters["id"]):
        task = Task.objects.filter(user_id=USER).first() or make_task(user_id=USER)
        case.path_parameters["id"] = str(task.id)
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {make_token(sub=USER)}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )

"""docs/api.md, the API reference, tells the same story as openapi.yaml: every route, status, list parameter and
task field of one is in the other. When a test here fails, its message says what to add to docs/api.md."""

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "docs" / "api.md").read_text()
SCHEMA = yaml.safe_load((ROOT / "openapi.yaml").read_text())
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass
class Section:
    """One heading of docs/api.md and what it documents."""

    heading: str
    routes: set[tuple[str, str]] = field(default_factory=set)  # (METHOD, /path) in code spans
    statuses: set[str] = field(default_factory=set)  # first cells of table rows that are status codes
    names: set[str] = field(default_factory=set)  # first cells of table rows that are code spans
    text: str = ""


def sections(text: str) -> list[Section]:
    parts = re.split(r"^(?=#{2,3} )", text, flags=re.MULTILINE)
    return [
        Section(
            heading=part.splitlines()[0],
            routes=set(re.findall(rf"`({'|'.join(METHODS)}) (/[^`\s]*)`", part)),
            statuses=set(re.findall(r"^\| (\d{3}) \|", part, flags=re.MULTILINE)),
            names=set(re.findall(r"^\| `(\w+)` \|", part, flags=re.MULTILINE)),
            text=part,
        )
        for part in parts
        if part.startswith("#")
    ]


SECTIONS = sections(DOCS)
OPERATIONS = {
    (method.upper(), path): operation for path, item in SCHEMA["paths"].items() for method, operation in item.items()
}


def section_of(route: tuple[str, str]) -> Section | None:
    return next((section for section in SECTIONS if route in section.routes), None)


def other_family(path: str) -> str | None:
    """The same route in the other family (`/api/tasks` ↔ `/api/{user_id}/tasks`), if openapi.yaml has it."""
    other = (
        path.replace("/api/{user_id}/", "/api/", 1)
        if "{user_id}" in path
        else path.replace("/api/", "/api/{user_id}/", 1)
    )
    return other if other != path and other in SCHEMA["paths"] else None


def stub(method: str, path: str) -> str:
    """A section for docs/api.md with what openapi.yaml says about the route, to fill in."""
    family = [p for p in (path, other_family(path)) if p and method.lower() in SCHEMA["paths"][p]]
    routes = [(method, p) for p in sorted(family, key=lambda p: "{user_id}" in p)]
    operations = [OPERATIONS[route] for route in routes]
    statuses = sorted(set().union(*(operation["responses"] for operation in operations)))
    parameters = sorted({p["name"] for op in operations for p in op.get("parameters", []) if p["in"] == "query"})
    lines = [
        f"### {operations[0].get('summary', 'What it does')}",
        "",
        " · ".join(f"`{m} {p}`" for m, p in routes) + " — " + ", ".join(f"`{op['operationId']}`" for op in operations),
        "",
    ]
    if parameters:
        lines += ["| parameter | |", "|---|---|", *(f"| `{name}` | ... |" for name in parameters), ""]
    lines += ["| status | when |", "|---|---|", *(f"| {status} | ... |" for status in statuses)]
    return "\n".join(lines)


def test_the_reference_documents_routes():
    assert len([section for section in SECTIONS if section.routes]) >= 8


@pytest.mark.parametrize("route", sorted(OPERATIONS), ids=[f"{m} {p}" for m, p in sorted(OPERATIONS)])
def test_every_route_in_openapi_is_in_the_reference(route):
    method, path = route
    section = section_of(route)
    assert section is not None, (
        f"docs/api.md does not document `{method} {path}` ({OPERATIONS[route]['operationId']}). Add its route line "
        f"to the section that describes it, or add a section like this one and fill in the dots:\n\n"
        f"{stub(method, path)}\n"
    )
    assert f"`{OPERATIONS[route]['operationId']}`" in section.text, (
        f"docs/api.md, section '{section.heading}': add the operation id `{OPERATIONS[route]['operationId']}` "
        f"of `{method} {path}` after its route line."
    )


def test_every_route_in_the_reference_is_in_openapi():
    documented = {route for section in SECTIONS for route in section.routes}
    stale = sorted(documented - set(OPERATIONS))
    assert stale == [], f"docs/api.md documents routes openapi.yaml does not have; fix or remove: {stale}"


@pytest.mark.parametrize("section", [s for s in SECTIONS if s.routes], ids=[s.heading for s in SECTIONS if s.routes])
def test_each_section_documents_exactly_the_statuses_of_its_routes(section):
    known = [route for route in section.routes if route in OPERATIONS]
    answered = set().union(*(OPERATIONS[route]["responses"] for route in known))
    missing, extra = sorted(answered - section.statuses), sorted(section.statuses - answered)
    assert not missing, (
        f"docs/api.md, section '{section.heading}': openapi.yaml says these routes also answer {missing}. Add a "
        f"row to its status table for each:\n" + "\n".join(f"| {status} | when ... |" for status in missing)
    )
    assert not extra, (
        f"docs/api.md, section '{section.heading}': no route of this section answers {extra} in openapi.yaml; "
        f"remove those rows (or document the status in the code, then `make openapi`)."
    )


@pytest.mark.parametrize("section", [s for s in SECTIONS if s.routes], ids=[s.heading for s in SECTIONS if s.routes])
def test_each_section_documents_exactly_the_query_parameters_of_its_routes(section):
    parameters = {
        parameter["name"]
        for route in section.routes
        for parameter in OPERATIONS.get(route, {}).get("parameters", [])
        if parameter["in"] == "query"
    }
    missing, extra = sorted(parameters - section.names), sorted(section.names - parameters)
    assert not missing, (
        f"docs/api.md, section '{section.heading}': add a row to its parameter table for each query parameter "
        f"openapi.yaml has:\n" + "\n".join(f"| `{name}` | what it does ... |" for name in missing)
    )
    assert not extra, f"docs/api.md, section '{section.heading}': openapi.yaml has no query parameters {extra}"


def test_the_task_table_lists_exactly_the_fields_of_a_task():
    task_section = next(section for section in SECTIONS if section.heading == "## The task")
    fields = set(SCHEMA["components"]["schemas"]["Task"]["properties"])
    missing, extra = sorted(fields - task_section.names), sorted(task_section.names - fields)
    assert not missing, "docs/api.md, '## The task': add a row for each new field:\n" + "\n".join(
        f"| `{name}` | type | rules |" for name in missing
    )
    assert not extra, f"docs/api.md, '## The task': a task has no fields {extra} in openapi.yaml; remove their rows"

"""Conditional requests: a task's ETag is its version; If-None-Match on a read, If-Match on a write (RFC 9110)."""

import re

STRONG_TAG = re.compile(r'"(\d{1,18})"')


def etag(version: int) -> str:
    return f'"{version}"'


def tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def if_match_versions(request) -> list[int] | None:
    """The versions If-Match allows, or None when there is no condition (no header, or `*`: any current task,
    which every write already requires). A weak or malformed tag matches nothing (If-Match compares strongly)."""
    header = request.headers.get("If-Match")
    if header is None or "*" in tags(header):
        return None
    return [int(match[1]) for tag in tags(header) if (match := STRONG_TAG.fullmatch(tag))]


def not_modified(request, *, version: int) -> bool:
    """If-None-Match names the task's current ETag (weakly compared, so W/"3" names "3" too), or is `*`."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    return any(tag == "*" or tag.removeprefix("W/") == etag(version) for tag in tags(header))

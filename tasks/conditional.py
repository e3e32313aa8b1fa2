"""Conditional requests: a task's ETag is its version; If-None-Match on a read, If-Match on a write (RFC 9110)."""


def etag(version: int) -> str:
    return f'"{version}"'


def tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def if_match(request) -> set[str] | None:
    """The ETags If-Match allows, compared as exact strings (`"02"` is not `"2"`), or None when there is no
    condition (no header, or `*`: any current task, which every write already requires). A weak tag (`W/"3"`)
    matches nothing: If-Match compares strongly."""
    header = request.headers.get("If-Match")
    if header is None or "*" in tags(header):
        return None
    return set(tags(header))


def not_modified(request, *, version: int) -> bool:
    """If-None-Match names the task's current ETag (weakly compared, so W/"3" names "3" too), or is `*`."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    return any(tag == "*" or tag.removeprefix("W/") == etag(version) for tag in tags(header))

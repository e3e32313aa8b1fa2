"""JSON in and out with orjson: strict parsing (UTF-8, no NaN), bounded bodies, fast rendering."""

import orjson
from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "request_too_large"

    def __init__(self) -> None:
        super().__init__(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")


class ORJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        # DRF reads the stream itself, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE would not apply on its own.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise RequestTooLarge()
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise exceptions.ParseError(f"Malformed JSON: {exc}") from exc


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        # OPT_UTC_Z: datetimes (all UTC with USE_TZ) end in Z, as DRF writes them. No `default`: a type orjson does
        # not know is a bug to fix where the value is made, not something to write as whatever str() gives.
        return orjson.dumps(data, option=orjson.OPT_UTC_Z)

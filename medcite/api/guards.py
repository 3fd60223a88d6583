"""What every request passes before an endpoint sees it: a bounded body that arrives in time, and
JSON nested no deeper than a FHIR resource needs. Answers are in the one error shape.

`BodyLimit` is plain ASGI middleware: it reads the whole body first (any method), refusing
- a Content-Length or a body over `settings.max_body_bytes`: 413, without reading on;
- a body that has not fully arrived `settings.body_timeout_s` after the request started: 408 (a
  slow-drip client holds a connection, never a worker);
- a JSON body nested deeper than `settings.max_json_depth`: 422 (400 on CDS Hooks, whose clients
  expect 400 for a malformed request). Parsers and FHIR models recurse per level.
It then hands the endpoint the body it read.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi.responses import JSONResponse

from medcite.numbers import format_number
from medcite.settings import Settings


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """Return the one error shape `{"ok": false, "error": message, "status": status}`."""
    return JSONResponse({"ok": False, "error": message, "status": status}, status_code=status, headers=headers)


def json_depth(data: Any, limit: int) -> int:
    """Return the nesting depth of a parsed JSON value (objects and arrays), counting no further than limit + 1."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth > limit:
                return depth
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def malformed_status(path: str) -> int:
    """Return the status of a request body that does not validate: 400 for CDS Hooks, else 422."""
    return 400 if path.startswith("/cds-services") else 422


class BodyLimit:
    """ASGI middleware bounding the size, the arrival time and the JSON nesting of request bodies."""

    def __init__(self, app, settings: Settings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        s = self.settings
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isdigit() and int(declared) > s.max_body_bytes:
            return await self._refuse(scope, receive, send, 413, self._too_large(int(declared)))
        body, more = bytearray(), True
        try:
            async with asyncio.timeout(s.body_timeout_s):
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None  # the client went away: nothing to answer
                    body += message.get("body", b"")
                    more = message.get("more_body", False)
                    if len(body) > s.max_body_bytes:
                        return await self._refuse(scope, receive, send, 413, self._too_large(len(body), declared=False))
        except TimeoutError:
            return await self._refuse(scope, receive, send, 408, f"the request body did not arrive within "
                                      f"{format_number(s.body_timeout_s)} s (MEDCITE_BODY_TIMEOUT_S)")
        if body and b"json" in headers.get(b"content-type", b""):
            problem = self._nesting_problem(bytes(body))
            if problem:
                return await self._refuse(scope, receive, send, malformed_status(scope.get("path", "")), problem)
        return await self.app(scope, _replay(bytes(body), receive), send)

    def _too_large(self, size: int, declared: bool = True) -> str:
        what = f"{format_number(size)} bytes" if declared else f"more than {format_number(self.settings.max_body_bytes)} bytes"
        return f"the request body is {what}; the limit is {format_number(self.settings.max_body_bytes)} (MEDCITE_MAX_BODY_BYTES)"

    def _nesting_problem(self, body: bytes) -> str | None:
        limit = self.settings.max_json_depth
        try:
            data = json.loads(body)
        except RecursionError:
            return f"the JSON body is nested deeper than {limit} levels (MEDCITE_MAX_JSON_DEPTH)"
        except ValueError:
            return None  # not JSON: the endpoint says so in its own words
        if json_depth(data, limit) > limit:
            return f"the JSON body is nested deeper than {limit} levels (MEDCITE_MAX_JSON_DEPTH)"
        return None

    async def _refuse(self, scope, receive, send, status: int, message: str) -> None:
        # the connection is closed after a refusal: the rest of an unread body is not waited for
        response = error_response(status, message, {"Connection": "close"})
        await response(scope, receive, send)


def _replay(body: bytes, receive):
    """Return a `receive` that gives the endpoint the body already read, then the client's events."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

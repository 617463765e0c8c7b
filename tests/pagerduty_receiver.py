"""A local stand-in for PagerDuty's Events API v2 (`POST /v2/enqueue`); PagerDuty itself cannot
be reached from here.

Every request is checked against the documented contract and any deviation is recorded in
`violations` (a test asserts there are none). Sources: PagerDuty developer docs, "Send an Alert
Event" (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/; source
https://github.com/PagerDuty/developer-docs/blob/main/docs/events-API-v2/02-Trigger-Events.md),
"Events API Rate Limits" (https://developer.pagerduty.com/docs/events-api-v2/rate-limits/) and
the OpenAPI description PagerDuty/api-schema reference/events-v2/openapiv3.json:
- body: a JSON object, `Content-Type: application/json`;
- `routing_key` (required): the 32-character integration key; any other length is answered 400
  `{"status": "invalid event", "message": "Event object is invalid", "errors": ["Length of
  'routing_key' is incorrect (should be 32 characters)"]}`;
- `event_action` (required): `trigger`, `acknowledge` or `resolve`;
- `dedup_key`: a string of at most 255 characters, required unless the action is `trigger`;
- for `trigger`, `payload` with `summary` (at most 1024 characters), `source`, `severity`
  (`critical`, `error`, `warning`, `info`) required, and optional `timestamp` (date-time),
  `component`, `group`, `class` (strings), `custom_details` (object); optional top-level
  `client`, `client_url`, `links` (each with `href`), `images` (each with `src`);
- success is 202 `{"status": "success", "message": "Event processed", "dedup_key": ...}`.
A well-formed key the receiver does not know is answered 400 as well (as an invalid key).
Answers can be scripted: `script` is a queue of (status, headers) served before normal handling.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACTIONS = {"trigger", "acknowledge", "resolve"}
SEVERITIES = {"critical", "error", "warning", "info"}
TOP_LEVEL = {"routing_key", "event_action", "dedup_key", "payload", "client", "client_url",
             "links", "images"}  # fmt: skip
PAYLOAD = {"summary", "source", "severity", "timestamp", "component", "group", "class",
           "custom_details"}  # fmt: skip


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic()
    body: Any
    status: int


def contract_violations(body: Any) -> list[str]:
    """What in `body` breaks the documented Events API v2 request schema (empty if nothing)."""
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    problems = [f"unknown field {k!r}" for k in body if k not in TOP_LEVEL]
    if not isinstance(body.get("routing_key"), str):
        problems.append("routing_key missing or not a string")
    action = body.get("event_action")
    if action not in ACTIONS:
        problems.append(f"event_action {action!r} not one of {sorted(ACTIONS)}")
    dedup = body.get("dedup_key")
    if dedup is None and action != "trigger":
        problems.append("dedup_key required for acknowledge/resolve")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        problems.append("dedup_key not a string of at most 255 characters")
    if action == "trigger":
        problems += _payload_violations(body.get("payload"))
    for link in body.get("links", []):
        if not isinstance(link, dict) or not isinstance(link.get("href"), str):
            problems.append("a link without href")
    for image in body.get("images", []):
        if not isinstance(image, dict) or not isinstance(image.get("src"), str):
            problems.append("an image without src")
    return problems


def _payload_violations(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["trigger without a payload object"]
    problems = [f"unknown payload field {k!r}" for k in payload if k not in PAYLOAD]
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary or len(summary) > 1024:
        problems.append("payload.summary missing or longer than 1024 characters")
    if not isinstance(payload.get("source"), str) or not payload.get("source"):
        problems.append("payload.source missing")
    if payload.get("severity") not in SEVERITIES:
        problems.append(f"payload.severity {payload.get('severity')!r} not allowed")
    if "timestamp" in payload:
        try:
            datetime.fromisoformat(str(payload["timestamp"]))
        except ValueError:
            problems.append("payload.timestamp is not a date-time")
    for name in ("component", "group", "class"):
        if name in payload and not isinstance(payload[name], str):
            problems.append(f"payload.{name} is not a string")
    if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
        problems.append("payload.custom_details is not an object")
    return problems


class PagerDutyReceiver:
    def __init__(self, keys: set[str]) -> None:
        self.keys = keys
        self.received: list[Received] = []
        self.violations: list[str] = []
        self.script: deque[tuple[int, dict[str, str]]] = deque()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v2/enqueue"

    def __enter__(self) -> PagerDutyReceiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[Any]:
        with self.lock:
            return [r.body for r in self.received if r.status == 202]

    def answer(self, path: str, content_type: str, raw: bytes) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            status, headers, reply = self._answer(path, content_type, raw)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
            self.received.append(Received(time.monotonic(), body, status))
            return status, headers, reply

    def _answer(self, path: str, content_type: str, raw: bytes) -> tuple[int, dict[str, str], Any]:
        if path != "/v2/enqueue":
            return 404, {}, {"status": "not found"}
        if not content_type.startswith("application/json"):
            self.violations.append(f"Content-Type {content_type!r}")
        try:
            body = json.loads(raw)
        except ValueError:
            self.violations.append("body is not JSON")
            return 400, {}, _invalid("JSON parse error")
        problems = contract_violations(body)
        key = body.get("routing_key") if isinstance(body, dict) else None
        if isinstance(key, str) and len(key) != 32:
            return (
                400,
                {},
                _invalid("Length of 'routing_key' is incorrect (should be 32 characters)"),
            )
        self.violations.extend(problems)
        if problems:
            return 400, {}, _invalid(*problems)
        if self.script:
            status, headers = self.script.popleft()
            return status, headers, {"status": "error", "message": f"scripted {status}"}
        if key not in self.keys:
            return 400, {}, _invalid("Invalid routing key")
        return 202, {}, {"status": "success", "message": "Event processed",
                         "dedup_key": body.get("dedup_key")}  # fmt: skip

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ctype = self.headers.get("Content-Type", "")
                status, headers, reply = receiver.answer(self.path, ctype, raw)
                data = json.dumps(reply).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _invalid(*errors: str) -> dict[str, Any]:
    return {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)}

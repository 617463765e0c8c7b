"""The ingest HTTP service (aiohttp): routes, and the one request pipeline all sources share.

read body (limit) -> authenticate -> parse JSON -> adapter -> validate every event against the
domain model -> produce and wait for the acks -> 2xx. Answers: 401 bad signature or token, 400
not JSON, 422 a payload that cannot be mapped (the field is named), 404 an endpoint that is off
(no secret set), 413 too large, 503 + Retry-After when the broker did not ack in time. An event
type that is not used is 200 `{"status": "ignored"}`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from processor.domain.events import InvalidEvent, parse_event
from processor.ingest.common import CustomerPolicy, Mapped, Unmappable
from processor.ingest.directory import CustomerDirectory
from processor.ingest.jira import map_jira
from processor.ingest.mapping import Mapping
from processor.ingest.metrics import IngestMetrics
from processor.ingest.plain import map_plain
from processor.ingest.producer import BrokerUnavailable, EventProducer
from processor.ingest.signatures import AuthError, check_bearer, check_jira, check_zendesk
from processor.ingest.zendesk import map_zendesk
from processor.settings import IngestSettings

__all__ = ["Ingest", "create_app"]

Authenticate = Callable[[web.Request, bytes], None]
Adapt = Callable[[object], Mapped]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Ingest:
    """Everything a request needs; built once at the entry point (or by a test)."""

    settings: IngestSettings
    mapping: Mapping
    directory: CustomerDirectory
    producer: EventProducer
    registry: CollectorRegistry
    clock: Callable[[], datetime] = _utcnow

    def __post_init__(self) -> None:
        self.metrics = IngestMetrics(self.registry)
        s = self.settings
        self.policy = CustomerPolicy(s.unknown_customer, s.default_tier)


class _Reject(Exception):
    def __init__(self, status: int, reason: str, message: str, where: str = "") -> None:
        super().__init__(message)
        self.status, self.reason, self.where = status, reason, where


def create_app(ingest: Ingest) -> web.Application:
    app = web.Application(client_max_size=ingest.settings.max_body_bytes)
    handlers = _Handlers(ingest)
    app.router.add_post("/webhooks/zendesk", handlers.zendesk)
    app.router.add_post("/webhooks/jira", handlers.jira)
    app.router.add_post("/events", handlers.events)
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/metrics", handlers.metrics)
    return app


class _Handlers:
    def __init__(self, ingest: Ingest) -> None:
        self.ingest, self.settings, self.m = ingest, ingest.settings, ingest.metrics

    async def zendesk(self, request: web.Request) -> web.Response:
        secret = self.settings.zendesk_signing_secret

        def auth(req: web.Request, body: bytes) -> None:
            assert secret is not None
            check_zendesk(
                secret.get_secret_value(),
                req.headers.get("X-Zendesk-Webhook-Signature"),
                req.headers.get("X-Zendesk-Webhook-Signature-Timestamp"),
                body,
                self.ingest.clock(),
                self.settings.signature_tolerance,
            )

        i = self.ingest

        def adapt(payload: object) -> Mapped:
            return map_zendesk(payload, i.mapping.zendesk, i.directory, i.policy)

        return await self._pipeline(request, "zendesk", secret is not None, auth, adapt)

    async def jira(self, request: web.Request) -> web.Response:
        secret = self.settings.jira_webhook_secret

        def auth(req: web.Request, body: bytes) -> None:
            assert secret is not None
            check_jira(secret.get_secret_value(), req.headers.get("X-Hub-Signature"), body)

        i = self.ingest

        def adapt(payload: object) -> Mapped:
            return map_jira(payload, i.mapping, i.directory, i.policy)

        return await self._pipeline(request, "jira", secret is not None, auth, adapt)

    async def events(self, request: web.Request) -> web.Response:
        token = self.settings.events_token

        def auth(req: web.Request, body: bytes) -> None:
            assert token is not None
            check_bearer(token.get_secret_value(), req.headers.get("Authorization"))

        return await self._pipeline(request, "events", token is not None, auth, map_plain)

    async def healthz(self, request: web.Request) -> web.Response:
        broker = "ok" if self.ingest.producer.healthy else "unavailable"
        return web.json_response({"status": "ok", "broker": broker})

    async def metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.ingest.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _pipeline(
        self, request: web.Request, source: str, enabled: bool, auth: Authenticate, adapt: Adapt
    ) -> web.Response:
        try:
            if not enabled:
                raise _Reject(404, "disabled", f"{request.path} is off: its secret is not set")
            records, kinds = await self._records(request, auth, adapt)
        except _Reject as exc:
            self.m.requests.labels(source, "rejected").inc()
            self.m.rejections.labels(source, exc.reason).inc()
            body: dict[str, Any] = {"error": str(exc), "reason": exc.reason}
            if exc.where:
                body["field"] = exc.where
            return web.json_response(body, status=exc.status)
        except _Ignored as exc:
            self.m.requests.labels(source, "ignored").inc()
            self.m.ignored.labels(source, exc.reason).inc()
            return web.json_response({"status": "ignored", "reason": exc.reason})
        return await self._store(source, records, kinds)

    async def _records(
        self, request: web.Request, auth: Authenticate, adapt: Adapt
    ) -> tuple[list[tuple[bytes, bytes]], list[str]]:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            limit = self.settings.max_body_bytes
            raise _Reject(413, "too_large", f"body is larger than {limit} bytes") from None
        try:
            auth(request, body)
        except AuthError as exc:
            raise _Reject(401, exc.reason, str(exc)) from None
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            raise _Reject(400, "not_json", "body is not JSON (UTF-8)") from None
        try:
            mapped = adapt(payload)
        except Unmappable as exc:
            raise _Reject(exc.status, exc.reason, str(exc), exc.where) from None
        except RecursionError:
            raise _Reject(400, "too_deep", "body is nested too deeply") from None
        if mapped.ignored is not None:
            raise _Ignored(mapped.ignored)
        return _validated(mapped.events, self.settings.max_event_bytes)

    async def _store(
        self, source: str, records: list[tuple[bytes, bytes]], kinds: list[str]
    ) -> web.Response:
        started = time.perf_counter()
        try:
            await self.ingest.producer.store(records, self.settings.produce_timeout)
        except BrokerUnavailable:
            self.m.requests.labels(source, "unavailable").inc()
            return web.json_response(
                {"error": "Kafka did not acknowledge in time; retry later", "reason": "broker"},
                status=503,
                headers={"Retry-After": str(self.settings.retry_after)},
            )
        self.m.produce_seconds.observe(time.perf_counter() - started)
        self.m.requests.labels(source, "accepted").inc()
        for kind in kinds:
            self.m.events.labels(source, kind).inc()
        return web.json_response({"status": "stored", "events": len(records)})


class _Ignored(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _validated(
    events: list[dict[str, Any]], max_bytes: int
) -> tuple[list[tuple[bytes, bytes]], list[str]]:
    """(key, value) records after the domain model accepted each event; else 422."""
    records: list[tuple[bytes, bytes]] = []
    kinds: list[str] = []
    for index, event in enumerate(events):
        clean = {k: v for k, v in event.items() if v is not None}
        value = json.dumps(clean, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            parsed = parse_event(value, max_bytes)
        except InvalidEvent as exc:
            where = f"events.{index}" if len(events) > 1 else ""
            raise _Reject(422, f"invalid_event_{exc.reason}", exc.message, where) from None
        records.append((parsed.ticket_id.encode(), value))
        kinds.append(parsed.type)
    return records, kinds

"""Worker settings: one frozen object built at the entry point (env `SLA_*`, then CLI flags)."""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from processor.domain.constants import Tier

__all__ = ["PagingSettings", "Route", "Settings", "kafka_client_kwargs"]


class Settings(BaseSettings):
    """Everything a worker needs to know. Every field can be set as `SLA_<FIELD>`."""

    # hide_input_in_errors: a failing model check would otherwise print every input value,
    # SLA_SASL_PASSWORD included, in str(ValidationError).
    model_config = SettingsConfigDict(
        env_prefix="SLA_", frozen=True, extra="forbid", hide_input_in_errors=True
    )

    app_id: str = Field("sla-processor", description="Consumer group and changelog prefix.")
    bootstrap_servers: str = Field("127.0.0.1:19092", description="Kafka bootstrap, host:port,...")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: FilePath | None = Field(None, description="CA bundle to verify the brokers (SSL).")

    events_topic: str = "helpdesk.ticket-events"
    alerts_topic: str = "sla.alerts"
    dlq_topic: str = "helpdesk.ticket-events.dlq"
    partitions: int = Field(6, ge=1, le=1024, description="Partitions of the input topic.")
    replication_factor: int = Field(
        1, ge=1, description="Replicas of every topic the worker creates, changelog included."
    )
    min_insync_replicas: int = Field(
        1,
        ge=1,
        description="min.insync.replicas of those topics: an acks=all write needs this many "
        "copies (a cluster: replication_factor 3, min_insync_replicas 2).",
    )

    store: str = Field("rocksdb://", description="Table store: rocksdb:// or memory://.")
    standby_replicas: int = Field(
        1,
        ge=0,
        le=8,
        description="Other workers that keep a copy of each partition's tickets (read from the "
        "changelog as it is written), so that one taking over a failed worker's partitions "
        "replays only the tail instead of the whole changelog.",
    )
    row_format: Literal["compact", "full"] = Field(
        "compact",
        description="Ticket rows written: compact, or full keys (readable by releases before "
        "compact rows; use it during a rolling upgrade from one, then switch to compact).",
    )
    data_dir: Path = Field(Path(".run/worker"), description="Local table state.")
    rocksdb_block_cache_mb: int = Field(
        64,
        ge=1,
        le=65536,
        description="RocksDB block cache shared by all of the worker's table databases (MB).",
    )
    rocksdb_write_buffer_mb: int = Field(
        8, ge=1, le=1024, description="RocksDB write buffer (memtable) of each database (MB)."
    )
    rocksdb_memtables_mb: int = Field(
        64,
        ge=1,
        le=65536,
        description="All of the worker's RocksDB memtables together (MB); over it, the "
        "largest are flushed to disk early.",
    )
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=1, le=65535)
    policy_file: Path | None = Field(None, description="Policy YAML; default: the seed matrix.")
    timer_resolution: float = Field(
        0.5, gt=0, le=60, description="Seconds between ticks that raise due alerts."
    )
    tick_lag: float = Field(
        0.25,
        ge=0,
        le=60,
        description="A tick raises what was due this many seconds before the wall clock, "
        "so an event published a moment after it occurred can still prevent an alert.",
    )
    lateness_window: float = Field(
        2.0,
        gt=0,
        le=3600,
        description="Seconds an event's lateness (read time - occurred_at) keeps holding its "
        "partition's ticks back by as much: a backlog or a backfill raises nothing its own "
        "unread events could still prevent.",
    )
    lateness_floor: float = Field(
        0.0,
        ge=0,
        le=3600,
        description="Ticks are held back at least this many seconds (upstream delivery delay "
        "that the events do not show, e.g. a producer that buffers before sending).",
    )
    session_timeout: float = Field(
        10.0,
        ge=6,
        le=300,
        description="Seconds before the group gives a silent (crashed) worker's partitions "
        "to the others.",
    )
    stall_seconds: float = Field(
        20.0,
        ge=5,
        description="An input partition with waiting records whose read position has not "
        "moved for this long is re-seeked (a faust/aiokafka fetch stall).",
    )
    batch_max: int = Field(
        2000,
        ge=1,
        le=100_000,
        description="Records the worker handles together (their alerts acked in one wait, "
        "each ticket stored once); 1: one record at a time.",
    )
    batch_wait: float = Field(
        0.05,
        gt=0,
        le=5,
        description="Seconds a batch waits for more records before it is handled.",
    )
    producer_linger: float = Field(
        0.005,
        ge=0,
        le=1,
        description="Seconds the producer waits to fill a request (alerts, DLQ, changelog).",
    )
    producer_buffer: int = Field(
        100,
        ge=100,
        le=1_000_000,
        description="Records faust's producer buffer holds before the stream waits for it.",
    )
    faust_sensors: bool = Field(
        True, description="Export faust's own metrics (faust_*) on /metrics (counted cheaply)."
    )
    max_event_bytes: int = Field(
        64 * 1024, ge=1024, le=4 * 1024 * 1024, description="Larger events go to the DLQ."
    )
    ticket_lookup_fanout: int = Field(
        3,
        ge=0,
        le=64,
        description="GET /tickets/{id}: at most this many other workers asked for a ticket "
        "neither the asked worker nor the ticket's murmur2 owner holds.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("ssl_cafile")
    @classmethod
    def _check_cafile(cls, value: Path | None) -> Path | None:
        if value is not None:
            try:
                ssl.create_default_context(cafile=str(value))
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"{value} is not a readable PEM CA bundle ({exc})") from None
        return value

    @model_validator(mode="after")
    def _check_security(self) -> Settings:
        if self.security_protocol.startswith("SASL") and not (
            self.sasl_username and self.sasl_password
        ):
            raise ValueError(
                f"security_protocol {self.security_protocol} needs SLA_SASL_USERNAME and "
                "SLA_SASL_PASSWORD"
            )
        if self.store not in ("rocksdb://", "memory://"):
            raise ValueError("store must be rocksdb:// or memory://")
        return self

    @model_validator(mode="after")
    def _check_replication(self) -> Settings:
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(
                f"min_insync_replicas {self.min_insync_replicas} is larger than "
                f"replication_factor {self.replication_factor}: no write could succeed"
            )
        return self

    @property
    def broker_url(self) -> str:
        return ";".join(f"kafka://{h.strip()}" for h in self.bootstrap_servers.split(","))


def kafka_client_kwargs(settings: Settings) -> dict[str, object]:
    """Kept for existing imports: the builder is `processor.kafka.client.client_kwargs`."""
    from processor.kafka.client import client_kwargs

    return client_kwargs(settings)


# --- ingest (`sla-processor ingest`) ---------------------------------------------------------


class IngestSettings(Settings):
    """The worker's Kafka settings plus what the webhook service needs (`SLA_INGEST_*` etc.).

    Secrets are `SecretStr`, so they never appear in logs or in `repr`. An endpoint whose secret
    is unset is off (404): nothing is ever accepted unsigned.
    """

    ingest_host: str = Field("127.0.0.1", description="Listen address; TLS via a reverse proxy.")
    ingest_port: int = Field(8088, ge=1, le=65535)
    ingest_config: Path | None = Field(
        None, description="Mapping YAML (priorities, statuses); default: the shipped table."
    )
    customer_directory: Path | None = Field(
        None, description="Customers (YAML or CSV): tier, time zone, country; reloaded on change."
    )
    unknown_customer: Literal["default", "reject"] = Field(
        "default", description="A customer missing from the directory: default tier, or 422."
    )
    default_tier: Tier = "basic"
    zendesk_signing_secret: SecretStr | None = None
    jira_webhook_secret: SecretStr | None = None
    events_token: SecretStr | None = Field(None, description="Bearer token for POST /events.")
    signature_tolerance: float = Field(
        300.0, ge=1, le=3600, description="Largest age (s) of a Zendesk signature timestamp."
    )
    max_body_bytes: int = Field(256 * 1024, ge=1024, le=16 * 1024 * 1024)
    produce_timeout: float = Field(
        3.0, gt=0, le=30, description="Seconds to wait for the broker's ack before a 503."
    )
    retry_after: int = Field(5, ge=1, le=59, description="Retry-After (s) sent with a 503.")

    @field_validator("zendesk_signing_secret", "jira_webhook_secret", "events_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `SLA_EVENTS_TOKEN=` (empty) must leave the endpoint off, not accept an empty token.
        if isinstance(value, str) and not value.strip():
            return None
        return value


# ---- paging (`sla-processor page`) ---------------------------------------------------------------

PagingTarget = Literal["alertmanager", "pagerduty"]
PageKind = Literal["sla.near_breach", "sla.breached"]
# An Events API v2 integration key is 32 characters (PagerDuty answers 400 to any other length).
_ROUTING_KEY = re.compile(r"[A-Za-z0-9]{32}")


class Route(BaseModel):
    """Which alerts page one target; an empty (null) list means all. `sla.resolved` is not
    routed: it always ends a page that the target has open for the incident."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kinds: tuple[PageKind, ...] | None = None
    tiers: tuple[Tier, ...] | None = None
    priorities: tuple[Literal[1, 2, 3, 4], ...] | None = None
    metrics: tuple[str, ...] | None = None

    def accepts(self, kind: str, tier: str, priority: int, metric: str) -> bool:
        return (
            (self.kinds is None or kind in self.kinds)
            and (self.tiers is None or tier in self.tiers)
            and (self.priorities is None or priority in self.priorities)
            and (self.metrics is None or metric in self.metrics)
        )


def _default_routes() -> dict[PagingTarget, Route]:
    return {
        "alertmanager": Route(),
        "pagerduty": Route(kinds=("sla.breached",), priorities=(1, 2)),
    }


class PagingSettings(BaseSettings):
    """The paging forwarder's own settings (`SLA_PAGING_*`, `SLA_ALERTMANAGER_*`,
    `SLA_PAGERDUTY_*`); Kafka connection and topic names come from `Settings`."""

    model_config = SettingsConfigDict(
        env_prefix="SLA_", frozen=True, extra="forbid", hide_input_in_errors=True
    )

    paging_targets: tuple[PagingTarget, ...] = Field(
        ("alertmanager",), min_length=1, description="Targets to forward to (JSON list)."
    )
    paging_routes: dict[PagingTarget, Route] = Field(
        default_factory=_default_routes,
        description='Per target: {"kinds", "tiers", "priorities", "metrics"} (JSON).',
    )
    paging_group_prefix: str = Field(
        "sla-processor-page", description="Consumer group = <prefix>-<target>."
    )
    paging_batch: int = Field(
        500, ge=1, le=10_000, description="Most alerts read and held per target at a time."
    )
    paging_retry_base: float = Field(0.5, gt=0, le=60, description="First retry delay, s.")
    paging_retry_max: float = Field(30.0, gt=0, le=3600, description="Longest retry delay, s.")
    paging_http_timeout: float = Field(10.0, gt=0, le=300)
    paging_web_host: str = "127.0.0.1"
    paging_web_port: int = Field(6067, ge=1, le=65535, description="/metrics and /healthz.")
    paging_max_poll_interval: float = Field(
        300.0, ge=10, description="Seconds a target may stay down before the group rejoins."
    )
    ticket_url_template: str | None = Field(
        None, description="Link to a ticket, e.g. https://helpdesk.example/t/{ticket_id}."
    )

    alertmanager_url: str = Field("http://127.0.0.1:9093", description="Alertmanager base URL.")
    alertmanager_resend_seconds: float = Field(
        60.0, gt=0, le=3600, description="Firing pages are re-posted this often."
    )
    alertmanager_resolve_timeout: float = Field(
        900.0, gt=0, description="endsAt of a firing page: now + this (re-posts extend it)."
    )

    pagerduty_url: str = "https://events.pagerduty.com/v2/enqueue"
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_rate_per_minute: float = Field(
        120.0, gt=0, description="Events per minute (PagerDuty allows about 120 per key)."
    )
    pagerduty_source: str = Field("sla-processor", min_length=1)

    @field_validator("ticket_url_template")
    @classmethod
    def _check_template(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                value.format(ticket_id="T-1", metric="first_response")
            except (KeyError, IndexError, ValueError):
                raise ValueError("may use only {ticket_id} and {metric}") from None
        return value

    @field_validator("alertmanager_url", "pagerduty_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_paging(self) -> PagingSettings:
        if "pagerduty" in self.paging_targets:
            key = self.pagerduty_routing_key
            if key is None:
                raise ValueError("target pagerduty needs SLA_PAGERDUTY_ROUTING_KEY")
            if not _ROUTING_KEY.fullmatch(key.get_secret_value()):
                raise ValueError(
                    "SLA_PAGERDUTY_ROUTING_KEY is malformed: an Events API v2 integration key "
                    "is 32 letters and digits"
                )
        if self.alertmanager_resolve_timeout < 2 * self.alertmanager_resend_seconds:
            raise ValueError("alertmanager_resolve_timeout must be at least 2 resend intervals")
        if self.paging_retry_max < self.paging_retry_base:
            raise ValueError("paging_retry_max must not be below paging_retry_base")
        return self

    def route(self, target: PagingTarget) -> Route:
        return self.paging_routes.get(target, Route())

    def group_id(self, target: PagingTarget) -> str:
        return f"{self.paging_group_prefix}-{target}"

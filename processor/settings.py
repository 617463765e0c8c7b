"""Worker settings: one frozen object built at the entry point (env `SLA_*`, then CLI flags)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from processor.domain.constants import Tier

__all__ = ["Settings", "kafka_client_kwargs"]


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
    replication_factor: int = Field(1, ge=1)

    store: str = Field("rocksdb://", description="Table store: rocksdb:// or memory://.")
    data_dir: Path = Field(Path(".run/worker"), description="Local table state.")
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
        500,
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
        True, description="Export faust's own metrics (faust_*) on /metrics; costs CPU per event."
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

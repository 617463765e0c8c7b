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
    max_event_bytes: int = Field(
        64 * 1024, ge=1024, le=4 * 1024 * 1024, description="Larger events go to the DLQ."
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
    """Connection arguments for aiokafka clients (admin, consumers) from the settings."""
    import ssl

    kwargs: dict[str, object] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        cafile = str(settings.ssl_cafile) if settings.ssl_cafile else None
        kwargs["ssl_context"] = ssl.create_default_context(cafile=cafile)
    if settings.security_protocol.startswith("SASL"):
        assert settings.sasl_password is not None
        kwargs["sasl_mechanism"] = settings.sasl_mechanism
        kwargs["sasl_plain_username"] = settings.sasl_username
        kwargs["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return kwargs


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
    tiers: tuple[Literal["basic", "silver", "gold"], ...] | None = None
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

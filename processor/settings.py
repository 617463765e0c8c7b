"""Worker settings: one frozen object built at the entry point (env `SLA_*`, then CLI flags)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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

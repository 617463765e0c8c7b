"""Versions, default ports and paths of the local broker, with their environment overrides."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = "4.1.1"  # keep in step with pom.xml (kafka.version)
DEFAULT_PORT = 19092
DEFAULT_CONTROLLER_PORT = 19093
HOST = "127.0.0.1"
NODE_ID = 1

ENV_CACHE_DIR = "SLA_CACHE_DIR"
ENV_PORT = "SLA_KAFKA_PORT"
ENV_CONTROLLER_PORT = "SLA_KAFKA_CONTROLLER_PORT"
ENV_DATA_DIR = "SLA_KAFKA_DATA_DIR"


def repo_root() -> Path:
    """The checkout this package lives in (falls back to the working directory if installed)."""
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "pyproject.toml").is_file():
        return candidate
    return Path.cwd()


def cache_root() -> Path:
    """Where Maven's repository and the Kafka jars are cached (``$SLA_CACHE_DIR`` or ``.cache``)."""
    value = os.environ.get(ENV_CACHE_DIR)
    return Path(value).expanduser().resolve() if value else repo_root() / ".cache"


def _env_port(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        port = int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a port number") from None
    return check_port_number(port, name)


def check_port_number(port: int, what: str = "port") -> int:
    if not 1 <= port <= 65535:
        raise ValueError(f"{what} {port} is outside 1-65535")
    return port


@dataclass(frozen=True)
class Paths:
    """Files of one broker instance, all inside its data dir."""

    data_dir: Path

    @property
    def server_properties(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log4j_properties(self) -> Path:
        return self.data_dir / "log4j2.properties"

    @property
    def broker_log(self) -> Path:
        return self.data_dir / "broker.log"

    @property
    def broker_out(self) -> Path:
        return self.data_dir / "broker.out"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def format_args(self) -> Path:
        """The JVM ``@argfile`` of ``StorageTool format`` (may hold SCRAM passwords; 0600)."""
        return self.data_dir / "format.args"

    @property
    def lock_file(self) -> Path:
        return self.data_dir / ".localkafka.lock"

    @property
    def log_dirs(self) -> Path:
        """Kafka's ``log.dirs``: the topic data and ``meta.properties``."""
        return self.data_dir / "kafka-logs"

    @property
    def meta_properties(self) -> Path:
        return self.log_dirs / "meta.properties"


def resolve(
    port: int | None = None,
    controller_port: int | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> tuple[int, int, Path]:
    """Explicit arguments win over ``SLA_KAFKA_*`` variables, which win over the defaults."""
    port = check_port_number(port) if port is not None else _env_port(ENV_PORT, DEFAULT_PORT)
    if controller_port is None:
        controller_port = _env_port(ENV_CONTROLLER_PORT, DEFAULT_CONTROLLER_PORT)
    check_port_number(controller_port, "controller port")
    if port == controller_port:
        raise ValueError(f"port and controller port must differ (both {port})")
    if data_dir is None:
        data_dir = os.environ.get(ENV_DATA_DIR) or repo_root() / ".run" / "kafka"
    return port, controller_port, Path(data_dir).expanduser().resolve()

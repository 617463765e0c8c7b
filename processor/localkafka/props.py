"""Generation of ``server.properties`` and ``log4j2.properties`` for a single-node KRaft broker.

Listeners are data, not string templates, so a later security mode (e.g. a SASL_SSL listener with
SCRAM-SHA-512) only adds a :class:`Listener` plus its ``extra_properties``.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .settings import HOST, NODE_ID, Paths

CONTROLLER_LISTENER = "CONTROLLER"


@dataclass(frozen=True)
class Listener:
    """One Kafka listener; ``name`` must be unique and ``protocol`` a Kafka security protocol."""

    name: str
    port: int
    protocol: str = "PLAINTEXT"
    host: str = HOST
    advertised: bool = True  # controller listeners are never advertised to clients

    @property
    def address(self) -> str:
        return f"{self.name}://{self.host}:{self.port}"


def default_listeners(port: int, controller_port: int) -> list[Listener]:
    return [
        Listener("PLAINTEXT", port),
        Listener(CONTROLLER_LISTENER, controller_port, advertised=False),
    ]


def _listener_properties(listeners: Sequence[Listener]) -> dict[str, str]:
    names = [item.name for item in listeners]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate listener names: {names}")
    advertised = [item.address for item in listeners if item.advertised]
    client = [item.name for item in listeners if item.advertised]
    return {
        "listeners": ",".join(item.address for item in listeners),
        "advertised.listeners": ",".join(advertised),
        "listener.security.protocol.map": ",".join(f"{i.name}:{i.protocol}" for i in listeners),
        "inter.broker.listener.name": client[0],
        "controller.listener.names": CONTROLLER_LISTENER,
    }


@dataclass(frozen=True)
class Quorum:
    """This node's place in a KRaft cluster of combined broker+controller nodes.

    ``voters`` is ``controller.quorum.voters`` (``id@host:port,...``); ``replication`` the
    replication factor of the internal topics and the broker default, with a minimum ISR of
    ``replication - 1`` (at least 1), so one node may be down while writes still need two copies.
    """

    node_id: int = NODE_ID
    voters: str = ""
    replication: int = 1

    @property
    def min_isr(self) -> int:
        return max(1, self.replication - 1)


def voters(controller_ports: Sequence[int], first_id: int = NODE_ID) -> str:
    return ",".join(f"{first_id + i}@{HOST}:{port}" for i, port in enumerate(controller_ports))


def _node_properties(paths: Paths, controller_port: int, quorum: Quorum) -> dict[str, str]:
    rf, isr = str(quorum.replication), str(quorum.min_isr)
    return {
        "process.roles": "broker,controller",
        "node.id": str(quorum.node_id),
        "controller.quorum.voters": quorum.voters or f"{quorum.node_id}@{HOST}:{controller_port}",
        "log.dirs": str(paths.log_dirs),
        "num.partitions": "1",
        "default.replication.factor": rf,
        "min.insync.replicas": isr,
        "auto.create.topics.enable": "false",  # topics come from `sla-processor topics create`
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": isr,
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "4",
    }


def server_properties(
    paths: Paths,
    port: int,
    controller_port: int,
    extra_listeners: Sequence[Listener] = (),
    extra_properties: Mapping[str, str] | None = None,
    quorum: Quorum | None = None,
) -> dict[str, str]:
    """All broker settings; ``extra_properties`` override the generated ones."""
    listeners = [*default_listeners(port, controller_port), *extra_listeners]
    props = _node_properties(paths, controller_port, quorum or Quorum())
    props.update(_listener_properties(listeners))
    props.update(extra_properties or {})
    return props


def render(props: Mapping[str, str], header: str = "") -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"{key}={_escape(value)}" for key, value in props.items()]
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def parse(text: str) -> dict[str, str]:
    """A small ``.properties`` reader (``key=value`` lines, ``#``/``!`` comments)."""
    result: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, _, value = line.partition("=")
        result[key.strip()] = value.strip().replace("\\n", "\n").replace("\\\\", "\\")
    return result


def read(path: Path) -> dict[str, str]:
    return parse(path.read_text(encoding="utf-8")) if path.is_file() else {}


def log4j2_properties(log_file: Path, level: str = "INFO") -> str:
    """Log4j2 *properties* config: the broker log goes to ``log_file``, rolled at 50 MB."""
    lines = {
        "status": "warn",
        "name": "sla-localkafka",
        "appender.file.type": "RollingFile",
        "appender.file.name": "FILE",
        "appender.file.fileName": str(log_file),
        "appender.file.filePattern": f"{log_file}.%i",
        "appender.file.layout.type": "PatternLayout",
        "appender.file.layout.pattern": "[%d] %p %m (%c)%n",
        "appender.file.policies.type": "Policies",
        "appender.file.policies.size.type": "SizeBasedTriggeringPolicy",
        "appender.file.policies.size.size": "50MB",
        "appender.file.strategy.type": "DefaultRolloverStrategy",
        "appender.file.strategy.max": "3",
        "rootLogger.level": level,
        "rootLogger.appenderRef.file.ref": "FILE",
        **_quiet_loggers(["kafka.request.logger", "kafka.network.RequestChannel$"]),
    }
    return render(lines, header="Generated by processor.localkafka; rewritten on every start.")


def _quiet_loggers(names: Iterable[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for index, name in enumerate(names):
        result[f"logger.quiet{index}.name"] = name
        result[f"logger.quiet{index}.level"] = "WARN"
    return result


def new_cluster_id() -> str:
    """A random 22-character base64url UUID, as ``kafka-storage.sh random-uuid`` prints."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):  # Kafka avoids ids that look like a command-line flag
            return text

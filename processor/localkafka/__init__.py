"""Manage one local single-node KRaft Apache Kafka broker for development and tests.

    from processor.localkafka import LocalKafka
    with LocalKafka(port=29092, controller_port=29093, data_dir="/tmp/k") as kafka:
        print(kafka.bootstrap)

CLI: ``python -m processor.localkafka start|stop|status|logs``. Standard library only.
"""

from __future__ import annotations

from .broker import BrokerStatus, LocalKafka
from .errors import (
    AlreadyRunningError,
    FetchError,
    LocalKafkaError,
    PortInUseError,
    StartupError,
    ToolMissingError,
)
from .props import Listener
from .settings import DEFAULT_CONTROLLER_PORT, DEFAULT_PORT, KAFKA_VERSION

__all__ = [
    "DEFAULT_CONTROLLER_PORT",
    "DEFAULT_PORT",
    "KAFKA_VERSION",
    "AlreadyRunningError",
    "BrokerStatus",
    "FetchError",
    "Listener",
    "LocalKafka",
    "LocalKafkaError",
    "PortInUseError",
    "StartupError",
    "ToolMissingError",
]

"""Manage a local KRaft Apache Kafka broker, or a cluster of them, for development and tests.

    from processor.localkafka import LocalKafka, LocalKafkaCluster
    with LocalKafka(port=29092, controller_port=29093, data_dir="/tmp/k") as kafka:
        print(kafka.bootstrap)
    with LocalKafkaCluster(nodes=3, data_dir="/tmp/kc") as cluster:  # free ports
        print(cluster.bootstrap)

CLI: ``python -m processor.localkafka start|stop|status|logs [--nodes 3]``. Standard library only.
"""

from __future__ import annotations

from .broker import BrokerStatus, LocalKafka
from .cluster import LocalKafkaCluster
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
    "LocalKafkaCluster",
    "LocalKafkaError",
    "PortInUseError",
    "StartupError",
    "ToolMissingError",
]

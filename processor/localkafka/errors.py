"""Errors raised by :mod:`processor.localkafka`; each message tells the user what to do next."""

from __future__ import annotations


class LocalKafkaError(RuntimeError):
    """Base class: the local broker could not be fetched, started, probed or stopped."""


class ToolMissingError(LocalKafkaError):
    """``java`` or ``mvn`` is missing or too old."""


class FetchError(LocalKafkaError):
    """Maven could not fetch the Kafka jars."""


class PortInUseError(LocalKafkaError):
    """A port the broker needs is already bound by another process."""

    def __init__(self, message: str, port: int, owner_pid: int | None = None) -> None:
        super().__init__(message)
        self.port = port
        self.owner_pid = owner_pid


class AlreadyRunningError(LocalKafkaError):
    """Our broker for this data dir runs already, but with settings that differ from the request."""


class StartupError(LocalKafkaError):
    """The broker process died or did not become ready in time."""

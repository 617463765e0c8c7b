"""A minimal Kafka protocol client: ApiVersions + Metadata over a plain socket.

Readiness means a real Metadata request is answered with at least one broker, which a TCP
connect alone does not prove. Only non-flexible versions are used (Metadata v4-v8 share the
fields read here), so no compact/tagged encoding is needed.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

API_METADATA = 3
API_VERSIONS = 18
METADATA_VERSIONS = range(4, 9)  # v0-v3 were removed in Kafka 4.0; v9+ are flexible
CLIENT_ID = b"sla-localkafka-probe"


class ProtocolError(Exception):
    """The peer answered, but not like a Kafka broker that is ready."""


@dataclass(frozen=True)
class BrokerInfo:
    node_id: int
    host: str
    port: int


@dataclass(frozen=True)
class PartitionInfo:
    topic: str
    partition: int
    leader: int  # -1 while no leader is elected
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    @property
    def under_replicated(self) -> bool:
        return self.leader < 0 or set(self.isr) != set(self.replicas)


@dataclass(frozen=True)
class ClusterMetadata:
    brokers: tuple[BrokerInfo, ...]
    cluster_id: str | None
    controller_id: int
    partitions: tuple[PartitionInfo, ...] = ()


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(value)

    def string(self) -> str | None:
        length = self.take(">h")
        if length < 0:
            return None
        text = self.data[self.pos : self.pos + length].decode("utf-8")
        self.pos += length
        return text


def _request(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> bytes:
    header = struct.pack(">hhih", api_key, version, corr, len(CLIENT_ID)) + CLIENT_ID
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    size = struct.unpack(">i", _recv_exact(sock, 4))[0]
    response = _recv_exact(sock, size)
    if struct.unpack_from(">i", response)[0] != corr:
        raise ProtocolError("correlation id mismatch")
    return response[4:]


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ProtocolError("connection closed by the broker")
        chunks += chunk
    return bytes(chunks)


def _api_versions(sock: socket.socket) -> dict[int, tuple[int, int]]:
    reader = _Reader(_request(sock, API_VERSIONS, 0, 1, b""))
    error = reader.take(">h")
    if error != 0:
        raise ProtocolError(f"ApiVersions error code {error}")
    versions: dict[int, tuple[int, int]] = {}
    for _ in range(reader.take(">i")):
        key, low, high = reader.take(">h"), reader.take(">h"), reader.take(">h")
        versions[key] = (low, high)
    return versions


def _metadata_version(versions: dict[int, tuple[int, int]]) -> int:
    low, high = versions.get(API_METADATA, (0, -1))
    usable = [v for v in METADATA_VERSIONS if low <= v <= high]
    if not usable:
        raise ProtocolError(f"broker supports Metadata v{low}-v{high}, none of v4-v8")
    return max(usable)


def _metadata(sock: socket.socket, version: int) -> ClusterMetadata:
    body = struct.pack(">ib", -1, 0)  # all topics, no auto-creation
    if version >= 8:
        body += struct.pack(">bb", 0, 0)  # no authorized-operations lists
    reader = _Reader(_request(sock, API_METADATA, version, 2, body))
    reader.take(">i")  # throttle_time_ms
    brokers = []
    for _ in range(reader.take(">i")):
        node_id, host, port = reader.take(">i"), reader.string() or "", reader.take(">i")
        reader.string()  # rack
        brokers.append(BrokerInfo(node_id, host, port))
    cluster_id = reader.string()
    controller_id = reader.take(">i")
    return ClusterMetadata(tuple(brokers), cluster_id, controller_id, _topics(reader, version))


def _topics(reader: _Reader, version: int) -> tuple[PartitionInfo, ...]:
    """The topics array of a Metadata v4-v8 response: every partition's leader, replicas, ISR."""
    found: list[PartitionInfo] = []
    for _ in range(reader.take(">i")):
        reader.take(">h")  # topic error code
        name = reader.string() or ""
        reader.take(">b")  # is_internal
        for _ in range(reader.take(">i")):
            reader.take(">h")  # partition error code
            index, leader = reader.take(">i"), reader.take(">i")
            if version >= 7:
                reader.take(">i")  # leader epoch
            replicas, isr = _int32s(reader), _int32s(reader)
            if version >= 5:
                _int32s(reader)  # offline replicas
            found.append(PartitionInfo(name, index, leader, replicas, isr))
        if version >= 8:
            reader.take(">i")  # topic authorized operations
    return tuple(found)


def _int32s(reader: _Reader) -> tuple[int, ...]:
    return tuple(reader.take(">i") for _ in range(max(reader.take(">i"), 0)))


def fetch_metadata(host: str, port: int, timeout: float = 2.0) -> ClusterMetadata:
    """Ask the broker at ``host:port`` for cluster metadata; raises OSError or ProtocolError."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        version = _metadata_version(_api_versions(sock))
        metadata = _metadata(sock, version)
    if not metadata.brokers:
        raise ProtocolError("metadata lists no live broker yet")
    return metadata


def is_ready(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        fetch_metadata(host, port, timeout)
    except (OSError, ProtocolError, struct.error, UnicodeDecodeError):
        return False
    return True

"""Which partition a keyed record lands on, under each partitioner common Kafka clients use.

The input topic's contract is the Java client's: partition = (murmur2(key) & 0x7fffffff) mod N,
which aiokafka, kafka-python and Kafka Streams share. Other clients hash differently by default
(librdkafka: CRC32; Sarama and kafka-go's `Hash`: FNV-1a), so a helpdesk on one of them writes
a ticket's events to one partition, but not the one the worker computes for the ticket. These
pure functions let the worker recognise such records (by the partitioner that explains their
partition) and find a ticket where such a producer put it. No I/O.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from aiokafka.partitioner import murmur2

__all__ = [
    "HASHES",
    "MISPARTITION_PATTERNS",
    "candidate_partitions",
    "fnv1a_32",
    "mispartition_pattern",
    "murmur2_partition",
    "partition_by",
]


def fnv1a_32(data: bytes) -> int:
    """The 32-bit FNV-1a hash (unsigned)."""
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def murmur2_partition(key: bytes, partitions: int) -> int:
    """The Java client's partition for `key`: the contract of the input topic."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def _crc32(key: bytes, partitions: int) -> int:
    return zlib.crc32(key) % partitions


def _fnv1a(key: bytes, partitions: int) -> int:
    return fnv1a_32(key) % partitions


def _fnv1a_sarama(key: bytes, partitions: int) -> int:
    signed = fnv1a_32(key)
    signed = signed - (1 << 32) if signed >= 1 << 31 else signed
    return abs(signed) % partitions  # Go's % truncates toward zero, then Sarama negates


HASHES: dict[str, Callable[[bytes, int], int]] = {
    "murmur2": murmur2_partition,  # Java, aiokafka, kafka-python; librdkafka murmur2(_random)
    "crc32": _crc32,  # librdkafka's default consistent_random (and consistent)
    "fnv1a": _fnv1a,  # librdkafka fnv1a(_random), kafka-go's Hash balancer
    "fnv1a_sarama": _fnv1a_sarama,  # Sarama's default: int32 remainder, then its absolute value
}
"""Partitioner name -> partition of a key; murmur2 first (the contract), then by how common."""

MISPARTITION_PATTERNS = ("crc32", "fnv1a", "fnv1a_sarama", "unknown", "no_key")
"""What a record off the contract is taken for: the first other hash that explains its
partition, `unknown` if none does (random, round-robin, an explicit partition), `no_key`."""


def partition_by(name: str, key: bytes, partitions: int) -> int:
    return HASHES[name](key, partitions)


def mispartition_pattern(key: bytes | None, partition: int, partitions: int) -> str | None:
    """None if the record is where the contract puts it, else its pattern (see above)."""
    if key is None:
        return "no_key"
    if murmur2_partition(key, partitions) == partition:
        return None
    for name, hashed in HASHES.items():
        if name != "murmur2" and hashed(key, partitions) == partition:
            return name
    return "unknown"


def candidate_partitions(key: bytes, partitions: int) -> list[int]:
    """The distinct partitions the known hashes give `key`, the contract's first."""
    out: list[int] = []
    for hashed in HASHES.values():
        p = hashed(key, partitions)
        if p not in out:
            out.append(p)
    return out

"""The partitioners the worker recognises: known test vectors, and which one explains a record."""

from __future__ import annotations

import zlib

import pytest

from processor.kafka.partitioning import (
    HASHES,
    MISPARTITION_PATTERNS,
    candidate_partitions,
    fnv1a_32,
    mispartition_pattern,
    murmur2_partition,
    partition_by,
)


@pytest.mark.parametrize(
    ("key", "signed"),
    [  # Apache Kafka's UtilsTest.testMurmur2 vectors (the Java client's hash)
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
    ],
)
def test_murmur2_partition_is_the_java_clients(key: bytes, signed: int) -> None:
    for n in (1, 4, 6, 7, 100):
        assert murmur2_partition(key, n) == (signed & 0x7FFFFFFF) % n


def test_fnv1a_vectors() -> None:
    assert fnv1a_32(b"") == 0x811C9DC5
    assert fnv1a_32(b"a") == 0xE40C292C
    assert fnv1a_32(b"foobar") == 0xBF9CF968


def test_crc32_is_zlibs() -> None:
    assert partition_by("crc32", b"123456789", 1000) == 0xCBF43926 % 1000


def test_sarama_takes_the_signed_remainder_then_its_absolute_value() -> None:
    # FNV-1a("a") = 0xE40C292C is negative as an int32: -468965076.
    assert partition_by("fnv1a_sarama", b"a", 7) == 468965076 % 7 == 6
    assert partition_by("fnv1a", b"a", 7) == 0xE40C292C % 7 == 5


def test_a_record_on_its_murmur2_partition_is_on_contract() -> None:
    key = b"ticket-1"
    assert mispartition_pattern(key, murmur2_partition(key, 6), 6) is None


def test_a_record_placed_by_crc32_is_taken_for_librdkafka() -> None:
    key = next(k for k in _keys() if _differs(k, "murmur2", "crc32", 6))
    assert mispartition_pattern(key, zlib.crc32(key) % 6, 6) == "crc32"


def test_a_partition_no_hash_explains_is_unknown() -> None:
    key = next(k for k in _keys() if len(set(candidate_partitions(k, 6))) < 6)
    other = next(p for p in range(6) if p not in candidate_partitions(key, 6))
    assert mispartition_pattern(key, other, 6) == "unknown"


def test_keyless_records_are_no_key() -> None:
    assert mispartition_pattern(None, 0, 6) == "no_key"


def test_patterns_are_the_hashes_but_murmur2_plus_unknown_and_no_key() -> None:
    others = tuple(h for h in HASHES if h != "murmur2")
    assert (*others, "unknown", "no_key") == MISPARTITION_PATTERNS


def test_candidates_are_distinct_and_start_with_murmur2() -> None:
    for key in _keys():
        found = candidate_partitions(key, 4)
        assert found[0] == murmur2_partition(key, 4)
        assert len(found) == len(set(found)) <= len(HASHES)
        assert set(found) == {h(key, 4) for h in HASHES.values()}


def _keys() -> list[bytes]:
    return [f"T-{i}".encode() for i in range(200)]


def _differs(key: bytes, a: str, b: str, n: int) -> bool:
    return partition_by(a, key, n) != partition_by(b, key, n)

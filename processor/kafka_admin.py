"""Moved to `processor.kafka.admin`; this name stays importable until every branch uses it."""

from processor.kafka.admin import (
    AdminError,
    check_input_partitions,
    ensure_topics,
    partition_counts,
)

__all__ = ["AdminError", "check_input_partitions", "ensure_topics", "partition_counts"]

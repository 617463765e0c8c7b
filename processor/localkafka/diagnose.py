"""Turns a failed broker start into a message that says where to look and what to try."""

from __future__ import annotations

from pathlib import Path

from .settings import Paths

_LOG_HINTS = (
    ("Address already in use", "a port is taken: pick others with --port/--controller-port"),
    ("Failed to acquire lock", "another broker uses this data dir: stop it or use --data-dir"),
    (
        "InconsistentClusterIdException",
        "the data dir belongs to another cluster: use --data-dir or delete it",
    ),
    ("Invalid cluster.id", "the data dir belongs to another cluster: use --data-dir or delete it"),
    ("No meta.properties", "the data dir is not formatted: delete it so it is formatted anew"),
    ("OutOfMemoryError", "the JVM ran out of heap"),
)


def tail_text(path: Path, offset: int = 0, max_lines: int = 25) -> str:
    """The last ``max_lines`` lines of ``path`` after byte ``offset`` (all if it was rotated)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(offset if offset <= size else 0)
            data = handle.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    lines = [line for line in lines if not line.startswith(("\tat ", "\t... "))]  # stack frames
    return "\n".join(lines[-max_lines:])


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def startup_failure(
    headline: str, paths: Paths, log_offset: int, formatted_before: bool, cluster_id: str | None
) -> str:
    """Message for a broker that died or never became ready, with log tail and hints."""
    log = tail_text(paths.broker_log, log_offset)
    out = tail_text(paths.broker_out, 0, max_lines=15)
    parts = [f"{headline}. Broker log: {paths.broker_log} (JVM output: {paths.broker_out})"]
    if log:
        parts.append(f"--- last lines of {paths.broker_log.name} ---\n{log}")
    if out:
        parts.append(f"--- last lines of {paths.broker_out.name} ---\n{out}")
    parts.extend(f"hint: {hint}" for needle, hint in _LOG_HINTS if needle in log + out)
    if formatted_before:
        parts.append(
            f"hint: {paths.data_dir} was formatted by an earlier run (cluster id {cluster_id}); "
            "if it comes from another cluster or config, start with --data-dir <new dir> "
            f"(or SLA_KAFKA_DATA_DIR) or delete it: rm -rf {paths.data_dir}"
        )
    return "\n".join(parts)

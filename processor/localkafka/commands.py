"""The ``java`` command lines for formatting storage and running the broker."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .settings import Paths


def _classpath_and_logging(libs: Path, paths: Paths) -> list[str]:
    return [
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={paths.log4j_properties}",
        f"-Dkafka.logs.dir={paths.data_dir}",
        "-cp",
        f"{libs}/*",  # the JVM expands this wildcard itself; no shell involved
    ]


def format_storage(
    java: str, libs: Path, paths: Paths, cluster_id: str, extra_args: Sequence[str] = ()
) -> list[str]:
    """``StorageTool format`` for a static voter set (``controller.quorum.voters``)."""
    tool = ["kafka.tools.StorageTool", "format", "--cluster-id", cluster_id]
    config = ["--config", str(paths.server_properties), *extra_args]
    return [java, "-Xmx256m", *_classpath_and_logging(libs, paths), *tool, *config]


def broker(java: str, libs: Path, paths: Paths, heap: str = "512m") -> list[str]:
    """``kafka.Kafka server.properties`` with a small heap (2-core, shared machines)."""
    jvm = [java, f"-Xmx{heap}", "-Xms256m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
    jvm.append("-XX:+ExitOnOutOfMemoryError")
    main = ["kafka.Kafka", str(paths.server_properties)]
    return [*jvm, *_classpath_and_logging(libs, paths), *main]

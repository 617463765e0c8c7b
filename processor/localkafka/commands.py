"""The ``java`` command lines for formatting storage and running the broker."""

from __future__ import annotations

import os
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


def format_storage(java: str, libs: Path, paths: Paths) -> list[str]:
    """``StorageTool format``; its arguments come from :func:`write_format_args`' file.

    The arguments may hold SCRAM passwords (``--add-scram``), so they are not on the command
    line (``/proc/<pid>/cmdline`` is world-readable) but in a JVM ``@argfile`` only the owner
    can read; the process shows as ``java ... @<data dir>/format.args``.
    """
    return [java, "-Xmx256m", *_classpath_and_logging(libs, paths), f"@{paths.format_args}"]


def write_format_args(paths: Paths, cluster_id: str, extra_args: Sequence[str] = ()) -> None:
    """The ``@argfile`` of :func:`format_storage` (mode 0600); delete it after the run."""
    tool = ["kafka.tools.StorageTool", "format", "--cluster-id", cluster_id]
    args = [*tool, "--config", str(paths.server_properties), *extra_args]
    for arg in args:  # the launcher's quoting: "..." with \ escapes; never seen in our values
        if any(ch in arg for ch in '"\\\n'):
            raise ValueError("a StorageTool argument contains a quote, backslash or newline")
    write_private(paths.format_args, "".join(f'"{arg}"\n' for arg in args))


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only (also when it existed before)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def broker(java: str, libs: Path, paths: Paths, heap: str = "512m") -> list[str]:
    """``kafka.Kafka server.properties`` with a small heap (2-core, shared machines)."""
    jvm = [java, f"-Xmx{heap}", "-Xms256m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
    jvm.append("-XX:+ExitOnOutOfMemoryError")
    main = ["kafka.Kafka", str(paths.server_properties)]
    return [*jvm, *_classpath_and_logging(libs, paths), *main]

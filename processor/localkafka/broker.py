"""``LocalKafka``: one KRaft broker+controller node on 127.0.0.1, managed via a PID file.

Alone it is a single-node cluster; :class:`~processor.localkafka.cluster.LocalKafkaCluster`
runs several of them with a shared voter set (``quorum``) and cluster id.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from . import commands, diagnose, fetch, probe, procs, props
from .errors import AlreadyRunningError, PortInUseError, StartupError
from .settings import HOST, KAFKA_VERSION, Paths, cache_root, resolve


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    data_dir: Path
    log_file: Path
    ready: bool = False  # answers a Metadata request
    stale_pid: int | None = None  # a stale PID file naming this pid was just removed


class LocalKafka:
    """Fetches (once), formats (once per data dir), starts, probes and stops the broker.

    ``extra_listeners``/``extra_properties``/``extra_format_args`` are the hook for a later
    security mode (e.g. a SASL_SSL listener plus ``--add-scram`` users at format time).
    """

    def __init__(
        self,
        port: int | None = None,
        controller_port: int | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        heap: str = "512m",
        extra_listeners: Sequence[props.Listener] = (),
        extra_properties: Mapping[str, str] | None = None,
        extra_format_args: Sequence[str] = (),
        quorum: props.Quorum | None = None,
        cluster_id: str | None = None,
    ) -> None:
        self.port, self.controller_port, data = resolve(port, controller_port, data_dir)
        self.paths = Paths(data)
        self.cache_dir = Path(cache_dir).resolve() if cache_dir else cache_root()
        self.heap = heap
        self.extra_listeners = tuple(extra_listeners)
        self.extra_properties = dict(extra_properties or {})
        self.extra_format_args = tuple(extra_format_args)
        self.quorum = quorum or props.Quorum()
        self.cluster_id = cluster_id  # None: a new one when the data dir is first formatted
        self._log_offset, self._formatted_before = 0, False
        self._popen: subprocess.Popen[bytes] | None = None
        self._started_here = False
        self.last_stale_pid: int | None = None  # set when running_pid() removed a stale file

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.paths.broker_log

    def __repr__(self) -> str:
        return f"LocalKafka(bootstrap={self.bootstrap!r}, data_dir={str(self.paths.data_dir)!r})"

    def __enter__(self) -> LocalKafka:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._started_here:
            self.stop()

    # -- status -------------------------------------------------------------------------------

    def running_pid(self) -> int | None:
        """PID of our broker for this data dir; removes a stale PID file (gone or reused PID)."""
        pid = procs.read_pid(self.paths.pid_file)
        if pid is not None and procs.is_broker(pid, self.paths.server_properties):
            return pid
        if self.paths.pid_file.exists():
            self.last_stale_pid = pid
            self.paths.pid_file.unlink(missing_ok=True)
        return None

    def status(self) -> BrokerStatus:
        self.last_stale_pid = None
        pid = self.running_pid()
        port = self._configured_port() if pid else self.port
        bootstrap = f"{HOST}:{port}"
        ready = pid is not None and probe.is_ready(HOST, port)
        return BrokerStatus(
            pid is not None,
            pid,
            bootstrap,
            self.paths.data_dir,
            self.log_file,
            ready,
            self.last_stale_pid,
        )

    def _configured_port(self) -> int:
        """The client port the running broker was started with (from its server.properties)."""
        listeners = props.read(self.paths.server_properties).get("advertised.listeners", "")
        first = listeners.split(",")[0]
        return int(first.rsplit(":", 1)[1]) if ":" in first else self.port

    # -- start --------------------------------------------------------------------------------

    def start(self, timeout: float = 90.0) -> bool:
        """Start and wait until ready; False if our broker for this data dir already runs."""
        if not self.launch():
            return False
        self.wait_ready(timeout)
        return True

    def launch(self) -> bool:
        """Format (once) and spawn the JVM without waiting; False if ours already runs."""
        self.paths.data_dir.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if self._check_already_running():
                return False
            self.check_ports()
            java = fetch.check_java()
            libs = fetch.ensure_kafka_libs(self.cache_dir)
            self._write_configs()
            self._formatted_before = self._format_if_needed(java, libs)
            self._log_offset = diagnose.file_size(self.log_file)
            self._launch(java, libs)
        return True

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until the launched broker answers a Metadata request; stops it on failure."""
        pid = self._popen.pid if self._popen else self.running_pid()
        try:
            if pid is None:
                raise StartupError(f"no broker was launched for {self.paths.data_dir}")
            self._wait_ready(pid, timeout, self._log_offset, self._formatted_before)
        except BaseException:
            self.stop()
            raise
        self._started_here = True

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with self.paths.lock_file.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _check_already_running(self) -> bool:
        pid = self.running_pid()
        if pid is None:
            return False
        port = self._configured_port()
        if port != self.port:
            raise AlreadyRunningError(
                f"the broker for {self.paths.data_dir} already runs on {HOST}:{port} (pid {pid}),"
                f" not on port {self.port}: stop it first or use another --data-dir"
            )
        return True

    def check_ports(self) -> None:
        wanted = [("port", self.port), ("controller port", self.controller_port)]
        wanted += [(f"{item.name} listener port", item.port) for item in self.extra_listeners]
        for what, port in wanted:
            if not procs.port_is_free(port, HOST):
                raise _port_in_use(what, port)

    def _write_configs(self) -> None:
        settings = props.server_properties(
            self.paths,
            self.port,
            self.controller_port,
            self.extra_listeners,
            self.extra_properties,
            self.quorum,
        )
        header = f"Generated by processor.localkafka for Kafka {KAFKA_VERSION}; rewritten on start."
        # 0600: with a SASL_SSL listener it holds the keystore password
        commands.write_private(self.paths.server_properties, props.render(settings, header))
        log4j = props.log4j2_properties(self.paths.broker_log)
        self.paths.log4j_properties.write_text(log4j, encoding="utf-8")

    def _format_if_needed(self, java: str, libs: Path) -> bool:
        """Format storage unless ``meta.properties`` exists; True if it was formatted before."""
        meta = props.read(self.paths.meta_properties)
        if meta:
            wrong_cluster = self.cluster_id and meta.get("cluster.id") != self.cluster_id
            if meta.get("node.id") != str(self.quorum.node_id) or wrong_cluster:
                raise StartupError(_foreign_data_dir(self.paths, meta, self.quorum.node_id))
            return True
        self.cluster_id = self.cluster_id or props.new_cluster_id()
        commands.write_format_args(self.paths, self.cluster_id, self.extra_format_args)
        try:
            command = commands.format_storage(java, libs, self.paths)
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        finally:
            self.paths.format_args.unlink(missing_ok=True)
        if result.returncode != 0 or not self.paths.meta_properties.is_file():
            output = (result.stdout + result.stderr).strip()
            for secret in self.extra_format_args:  # e.g. --add-scram values with passwords
                output = output.replace(secret, "<argument hidden>")
            raise StartupError(
                f"formatting {self.paths.log_dirs} failed (exit {result.returncode}):\n"
                f"{output}\n"
                f"hint: delete {self.paths.data_dir} or use another --data-dir"
            )
        return False

    def _launch(self, java: str, libs: Path) -> int:
        command = commands.broker(java, libs, self.paths, self.heap)
        with self.paths.broker_out.open("wb") as out:
            self._popen = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.paths.data_dir,
                start_new_session=True,
                close_fds=True,
            )
        procs.write_pid(self.paths.pid_file, self._popen.pid)
        return self._popen.pid

    def _wait_ready(self, pid: int, timeout: float, log_offset: int, formatted: bool) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self._popen.poll() if self._popen else None
            if code is not None or not procs.is_alive(pid):
                headline = f"Kafka exited during startup (exit code {code})"
                raise StartupError(self._failure(headline, log_offset, formatted))
            if probe.is_ready(HOST, self.port, timeout=2.0):
                return
            time.sleep(0.25)
        raise StartupError(
            self._failure(
                f"Kafka was not ready within {timeout:.0f} s and was stopped", log_offset, formatted
            )
        )

    def _failure(self, headline: str, log_offset: int, formatted: bool) -> str:
        cluster_id = props.read(self.paths.meta_properties).get("cluster.id")
        return diagnose.startup_failure(headline, self.paths, log_offset, formatted, cluster_id)

    # -- stop ---------------------------------------------------------------------------------

    def kill(self) -> bool:
        """``kill -9`` our broker (no controlled shutdown: failover tests); False if none ran."""
        pid = self.running_pid()
        if pid is None:
            return False
        popen = self._popen if self._popen and self._popen.pid == pid else None
        procs.kill_now(pid, reap=popen.poll if popen else None)
        if popen is not None:
            popen.wait(10)
        self.paths.pid_file.unlink(missing_ok=True)
        return True

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop our broker (SIGTERM to its group, SIGKILL after ``timeout``); False if none ran."""
        pid = self.running_pid()
        if pid is None:
            return False
        popen = self._popen if self._popen and self._popen.pid == pid else None
        procs.terminate(pid, timeout, reap=popen.poll if popen else None)
        if popen is not None:
            popen.wait(10)  # reap it: a Popen dropped unreaped warns "still running"
        self.paths.pid_file.unlink(missing_ok=True)
        self._started_here = False
        return True


def _port_in_use(what: str, port: int) -> PortInUseError:
    owner = procs.port_owner(port)
    who = procs.describe(owner) if owner else "another process"
    if owner and procs.is_broker(owner):
        config = procs.cmdline(owner)[-1]
        who = f"another Kafka broker (pid {owner}, config {config}), not this data dir's"
    message = (
        f"{what} {port} on {HOST} is already in use by {who}; stop it or choose another port "
        "(--port/--controller-port, or SLA_KAFKA_PORT/SLA_KAFKA_CONTROLLER_PORT)"
    )
    return PortInUseError(message, port, owner)


def _foreign_data_dir(paths: Paths, meta: Mapping[str, str], node_id: int) -> str:
    return (
        f"{paths.data_dir} was formatted for node.id={meta.get('node.id')} "
        f"(cluster {meta.get('cluster.id')}), but this broker is node.id={node_id} of another "
        "cluster or node: "
        f"use --data-dir <new dir> or delete it (rm -rf {paths.data_dir})"
    )

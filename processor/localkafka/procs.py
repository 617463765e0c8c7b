"""Process and port helpers (Linux ``/proc`` based): PID files, liveness, port owners, stopping."""

from __future__ import annotations

import errno
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

BROKER_MAIN_CLASS = "kafka.Kafka"


def read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def write_pid(pid_file: Path, pid: int) -> None:
    tmp = pid_file.with_suffix(".tmp")
    tmp.write_text(f"{pid}\n", encoding="ascii")
    tmp.replace(pid_file)


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (an exited child nobody reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def is_broker(pid: int, config: Path | None = None) -> bool:
    """True if ``pid`` is a live JVM running ``kafka.Kafka`` (with ``config``, if given)."""
    args = cmdline(pid)
    if not args or not is_alive(pid) or "java" not in Path(args[0]).name:
        return False
    if BROKER_MAIN_CLASS not in args:
        return False
    return config is None or str(config) in args


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Can a server bind ``host:port``? (SO_REUSEADDR, like the JVM, so TIME_WAIT is no problem.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "0A":  # 0A = TCP_LISTEN
                inodes.add(fields[9])
    return inodes


def port_owner(port: int) -> int | None:
    """PID of a process listening on ``port`` (best effort: only processes we may inspect)."""
    inodes = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _has_fd(entry, inodes):
            return int(entry.name)
    return None


def _has_fd(proc_dir: Path, targets: set[str]) -> bool:
    try:
        return any(os.readlink(fd) in targets for fd in (proc_dir / "fd").iterdir())
    except OSError:
        return False


def describe(pid: int) -> str:
    args = cmdline(pid)
    text = " ".join(args) if args else "?"
    return f"pid {pid}: {text[:117] + '...' if len(text) > 120 else text}"


def terminate(pid: int, timeout: float = 30.0, reap: Callable[[], object] | None = None) -> bool:
    """SIGTERM the process group led by ``pid`` (else just ``pid``), SIGKILL after ``timeout``.

    Returns True if it stopped on SIGTERM, False if it had to be killed. ``reap`` (e.g. a
    ``Popen.poll``) is called while waiting so our own child does not linger as a zombie.
    """
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reap is not None:
            reap()
        if not is_alive(pid):
            return True
        time.sleep(0.1)
    _signal(pid, signal.SIGKILL)
    for _ in range(50):
        if reap is not None:
            reap()
        if not is_alive(pid):
            break
        time.sleep(0.1)
    return False


def kill_now(pid: int, reap: Callable[[], object] | None = None) -> None:
    """SIGKILL the process group led by ``pid`` (no shutdown hooks) and wait up to 5 s."""
    _signal(pid, signal.SIGKILL)
    for _ in range(50):
        if reap is not None:
            reap()
        if not is_alive(pid):
            return
        time.sleep(0.1)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        if os.getpgid(pid) == pid:  # we started it as a session/group leader
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass

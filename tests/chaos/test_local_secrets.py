"""The local SASL_SSL broker keeps its secrets off command lines and out of readable files.

Every process the broker tool starts (keytool, StorageTool format, the broker) is recorded as it
is spawned, and the running broker's /proc/<pid>/cmdline is read: neither the SCRAM password nor
the keystore password may appear. Every file under the data dir that holds either secret must be
readable by its owner only. The SCRAM user still works: the broker is only returned once an
authenticated client got metadata over SASL_SSL.
"""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from security_helpers import files_containing, start_secure_broker

from processor.localkafka import procs

pytestmark = [pytest.mark.chaos, pytest.mark.integration]


class _RecordingPopen(subprocess.Popen):  # type: ignore[type-arg]
    """subprocess.Popen that remembers the argv of every process it starts (and starts it)."""

    started: list[list[str]] = []

    def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
        _RecordingPopen.started.append([str(a) for a in args])
        super().__init__(args, *rest, **kwargs)


def _store_password(data_dir: Path) -> str:
    return (data_dir / "tls" / "store.password").read_text().strip()


def test_no_secret_on_any_command_line_and_no_secret_file_readable_by_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _RecordingPopen.started = []
    monkeypatch.setattr(subprocess, "Popen", _RecordingPopen)
    data_dir = tmp_path / "k"
    broker = start_secure_broker(data_dir)
    try:
        monkeypatch.undo()
        secrets = {"SCRAM password": broker.password, "store password": _store_password(data_dir)}
        started = _RecordingPopen.started
        kinds = {Path(argv[0]).name for argv in started}
        assert {"keytool", "java"} <= kinds, kinds  # keytool, StorageTool and the broker ran
        assert any(argv[-1].startswith("@") for argv in started), "format did not use an argfile"
        pid = broker.kafka.running_pid()
        assert pid is not None
        running = procs.cmdline(pid)
        assert "kafka.Kafka" in running
        for what, secret in secrets.items():
            assert not [a for a in started if any(secret in part for part in a)], what
            assert not any(secret in part for part in running), what
        assert not broker.kafka.paths.format_args.exists()  # the argfile is gone after format
        for what, secret in secrets.items():
            holders = files_containing(data_dir, secret)
            if what == "store password":
                assert broker.kafka.paths.server_properties in holders
            loose = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in holders}
            loose = {p: m for p, m in loose.items() if int(m, 8) & 0o077}
            assert not loose, f"{what} in files others can read: {loose}"
        tls = data_dir / "tls"
        assert stat.S_IMODE(tls.stat().st_mode) == 0o700
        for store in tls.glob("*.p12"):
            assert stat.S_IMODE(store.stat().st_mode) == 0o600, store
    finally:
        broker.kafka.stop()

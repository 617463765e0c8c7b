"""A local Prometheus Alertmanager (Debian's `prometheus-alertmanager`) for the demo and tests.

It listens on 127.0.0.1 only, keeps its notification log in its own data dir, runs without the
HA cluster, and routes every alert to its own group (`group_by: ['...']`), optionally notifying
a webhook (`send_resolved: true`).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = ["LocalAlertmanager", "alertmanager_binary"]

_NAMES = ("prometheus-alertmanager", "alertmanager")


def alertmanager_binary() -> str | None:
    """The Alertmanager executable on PATH, or None when it is not installed."""
    return next((path for name in _NAMES if (path := shutil.which(name))), None)


def config(webhook_url: str | None, group_wait: str, repeat_interval: str) -> dict[str, object]:
    receiver: dict[str, object] = {"name": "pages"}
    if webhook_url:
        receiver["webhook_configs"] = [{"url": webhook_url, "send_resolved": True}]
    return {
        "route": {
            "receiver": "pages",
            "group_by": ["..."],
            "group_wait": group_wait,
            "group_interval": group_wait,
            "repeat_interval": repeat_interval,
        },
        "receivers": [receiver],
    }


@dataclass
class LocalAlertmanager:
    data_dir: Path
    port: int
    webhook_url: str | None = None
    group_wait: str = "1s"
    repeat_interval: str = "24h"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> LocalAlertmanager:
        binary = alertmanager_binary()
        if binary is None:
            raise RuntimeError("prometheus-alertmanager is not installed (apt-get install it)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "alertmanager.yml"
        conf.write_text(
            yaml.safe_dump(config(self.webhook_url, self.group_wait, self.repeat_interval))
        )
        args = [
            binary,
            f"--config.file={conf}",
            f"--storage.path={self.data_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        with (self.data_dir / "alertmanager.log").open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready(timeout)
        return self

    def stop(self) -> None:
        """SIGTERM: Alertmanager writes its notification log to the data dir and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                log = (self.data_dir / "alertmanager.log").read_text(errors="replace")
                raise RuntimeError(f"alertmanager exited {self.proc.returncode}: {log[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"alertmanager not ready at {self.url} after {timeout}s")

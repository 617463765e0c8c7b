"""Debian's headless `chromium` driven over its DevTools protocol (`--remote-debugging-pipe`:
JSON messages on file descriptors 3 and 4, no port, no websocket library): open a page, collect
console errors, uncaught exceptions and every network request that is not a local file, wait for
a condition, evaluate an expression and take a full-page PNG screenshot."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ChromiumError", "PageResult", "chromium_path", "inspect_page"]

_LOCAL = ("file:", "data:", "blob:", "about:")


class ChromiumError(RuntimeError):
    pass


@dataclass
class PageResult:
    errors: list[str] = field(default_factory=list)
    """Console errors, uncaught exceptions and error log entries, as text."""
    requests: list[str] = field(default_factory=list)
    """URLs requested that are not a local file or data (a self-contained page makes none)."""
    value: Any = None
    """The value of the expression evaluated after `ready`."""


def chromium_path() -> str | None:
    return shutil.which("chromium")


class _Pipe:
    def __init__(self, proc: subprocess.Popen[bytes], write_fd: int, read_fd: int) -> None:
        self.proc, self.write_fd, self.read_fd = proc, write_fd, read_fd
        self.buffer, self.next_id = b"", 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict[str, Any]:  # fmt: skip
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            for reply in self._read(deadline):
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        raise ChromiumError(f"{method}: {reply['error']}")
                    result: dict[str, Any] = reply.get("result", {})
                    return result
                self.events.append(reply)

    def _read(self, deadline: float) -> list[dict[str, Any]]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ChromiumError("no answer from chromium in time")
        ready, _, _ = select.select([self.read_fd], [], [], left)
        if not ready:
            return []
        chunk = os.read(self.read_fd, 1 << 20)
        if not chunk:
            raise ChromiumError(f"chromium exited (code {self.proc.poll()})")
        self.buffer += chunk
        *messages, self.buffer = self.buffer.split(b"\0")
        return [json.loads(m) for m in messages if m]


def _above_four(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


def _launch(profile: str, width: int, height: int) -> tuple[subprocess.Popen[bytes], _Pipe]:
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    # Move the child's ends above 4, so that putting them on 3 and 4 cannot overwrite either.
    to_child_r, from_child_w = (_above_four(fd) for fd in (to_child_r, from_child_w))

    binary = chromium_path()
    if binary is None:
        raise ChromiumError("chromium is not installed (ops/scripts/install-system-deps.sh)")
    # bash (dash reads one-digit fds only) puts our pipes on chromium's fd 3 (commands in)
    # and fd 4 (answers out).
    wire = f'exec "$0" "$@" 3<&{to_child_r} 4>&{from_child_w}'
    proc = subprocess.Popen(
        ["bash", "-c", wire, binary, "--headless", "--no-sandbox", "--disable-gpu",
         "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions",
         f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
        pass_fds=(to_child_r, from_child_w),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(to_child_r)
    os.close(from_child_w)
    return proc, _Pipe(proc, to_child_w, from_child_r)


def _errors(events: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    errors, requests = [], []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            errors.append(details.get("exception", {}).get("description") or details.get("text"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(
                " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            )
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if not url.startswith(_LOCAL):
                requests.append(url)
    return errors, requests


def inspect_page(
    page: Path,
    *,
    ready: str = "true",
    expression: str = "null",
    screenshot: Path | None = None,
    width: int = 1280,
    height: int = 900,
    full_page: bool = True,
    timeout: float = 60.0,
) -> PageResult:
    """Open `page` (a local file), wait until the JS `ready` is truthy, evaluate `expression`
    (its JSON value is returned), optionally save a screenshot (the full page, or the top
    `width` x `height`)."""
    with tempfile.TemporaryDirectory(prefix="sla-chromium-") as profile:
        proc, pipe = _launch(profile, width, height)
        try:
            shot = _Shot(screenshot, full_page, width, height)
            return _inspect(pipe, page, ready, expression, shot, timeout)
        finally:
            with contextlib.suppress(ChromiumError, OSError):
                pipe.send("Browser.close", timeout=5)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.close(pipe.write_fd)
            os.close(pipe.read_fd)


@dataclass(frozen=True)
class _Shot:
    path: Path | None
    full_page: bool
    width: int
    height: int


def _inspect(
    pipe: _Pipe, page: Path, ready: str, expression: str, shot: _Shot, timeout: float
) -> PageResult:
    target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Network", "Page"):
        pipe.send(f"{domain}.enable", session=session)
    pipe.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
    deadline = time.monotonic() + timeout
    while True:
        done = pipe.send(
            "Runtime.evaluate", {"expression": f"!!({ready})", "returnByValue": True}, session
        )
        if done.get("result", {}).get("value") is True:
            break
        if time.monotonic() > deadline:
            raise ChromiumError(f"page not ready in {timeout:.0f} s: {ready}")
        time.sleep(0.2)
    value = (
        pipe.send(
            "Runtime.evaluate",
            {"expression": f"JSON.stringify({expression})", "returnByValue": True},
            session,
        )
        .get("result", {})
        .get("value")
    )
    if shot.path is not None:
        height = shot.height
        if shot.full_page:
            height = int(
                pipe.send("Page.getLayoutMetrics", session=session)["cssContentSize"]["height"]
            )
        metrics = {"width": shot.width, "height": height, "deviceScaleFactor": 1}
        pipe.send("Emulation.setDeviceMetricsOverride", {**metrics, "mobile": False}, session)
        time.sleep(0.5)  # let the responsive charts re-layout at the new size
        clip = {"x": 0, "y": 0, "width": shot.width, "height": height, "scale": 1}
        image = pipe.send("Page.captureScreenshot", {"format": "png", "clip": clip}, session)
        shot.path.write_bytes(base64.b64decode(image["data"]))
    errors, requests = _errors(pipe.events)
    return PageResult(errors, requests, None if value is None else json.loads(value))


def main() -> None:
    """`python -m devtools.chromium PAGE.html SHOT.png [HEIGHT]`: a screenshot of a report once
    its charts have drawn, of the full page or of its top HEIGHT pixels (how the README's
    picture is made)."""
    import sys

    page, shot = Path(sys.argv[1]), Path(sys.argv[2])
    height = int(sys.argv[3]) if len(sys.argv) > 3 else None
    result = inspect_page(
        page,
        ready="document.body && document.body.dataset.charts",
        screenshot=shot,
        height=height or 900,
        full_page=height is None,
    )
    for problem in [*result.errors, *result.requests]:
        print(f"page: {problem}", file=sys.stderr)
    sys.exit(1 if result.errors or result.requests else 0)


if __name__ == "__main__":
    main()

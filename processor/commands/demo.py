"""`sla-processor demo` (what `make run` starts): broker, topics, worker, simulator, live alerts,
and the pages in Alertmanager.

It starts only what is missing: the local broker unless `SLA_BOOTSTRAP_SERVERS` points at one,
then the worker, `ingest` (webhooks), Alertmanager (when `prometheus-alertmanager` is
installed) with the paging forwarder, and the traffic simulator as child processes, sends one
signed sample Zendesk webhook through ingest, and prints alerts as they arrive.
Ctrl-C (or SIGTERM, or `--duration`) stops, in reverse order, everything it started.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from processor.commands.options import settings_from
from processor.domain.durations import parse_duration

__all__ = ["demo"]

RUN_DIR = Path(".run")


@click.command()
@click.option("--rate", default=3.0, show_default=True, help="New tickets per second.")
@click.option(
    "--backdate",
    default="50m",
    show_default=True,
    help="Shift ticket times into the past so alerts come within a minute.",
)
@click.option(
    "--mix",
    default="basic=0.2,silver=0.4,gold=0.4",
    show_default=True,
    help="Tier weights (the 24x7 tiers alert soonest).",
)
@click.option(
    "--priorities",
    default="1=0.35,2=0.35,3=0.2,4=0.1",
    show_default=True,
    help="Priority weights (short targets alert soonest).",
)
@click.option("--seed", type=int, default=None, help="Simulator seed (default: random).")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.option("--web-port", type=int, default=None, help="Worker HTTP port [SLA_WEB_PORT].")
@click.option(
    "--ingest-port", type=int, default=None, help="Ingest HTTP port [SLA_INGEST_PORT] (8088)."
)
def demo(
    rate: float,
    backdate: str,
    mix: str,
    priorities: str,
    seed: int | None,
    duration: float | None,
    web_port: int | None,
    ingest_port: int | None,
) -> None:
    """Run the whole pipeline locally with demo traffic; Ctrl-C stops everything it started."""
    settings = settings_from(web_port=web_port)
    RUN_DIR.mkdir(exist_ok=True)
    stop = _StopFlag()
    with ExitStack() as stack:
        bootstrap, own_broker = _broker(stack, settings.bootstrap_servers)
        env = {
            **os.environ,
            "SLA_BOOTSTRAP_SERVERS": bootstrap,
            "SLA_WEB_PORT": str(settings.web_port),
        }
        _run_checked([sys.executable, "-m", "processor", "topics", "create"], env)
        url = f"http://{settings.web_host}:{settings.web_port}"
        stack.enter_context(_Child("worker", ["worker"], env))
        pages = _paging(stack, env)  # starts while the worker gets ready
        _wait_healthy(url, stop)
        ingest_url = _ingest(stack, env, ingest_port, stop)
        _banner(bootstrap, url, ingest_url, pages)
        tail = stack.enter_context(
            _Child("alerts", ["alerts", "tail", "--follow", "--from-end"], env, show=True)
        )
        time.sleep(2)  # let the tail seek to the end before the first alert can be published
        sim = [
            "simulate",
            "--rate",
            str(rate),
            "--backdate",
            backdate,
            "-q",
            "--mix",
            mix,
            "--priorities",
            priorities,
            "--out",
            str(RUN_DIR / "demo-events.jsonl"),
        ]
        stack.enter_context(
            _Child("simulate", [*sim, *(["--seed", str(seed)] if seed else [])], env)
        )
        _sample(ingest_url, env)
        _wait(stop, duration, tail)
        started = "simulator, ingest, " + ("forwarder, Alertmanager, " if pages else "") + "worker"
        click.echo(f"\nstopping: {started}" + (", broker" if own_broker else ""), err=True)


class _StopFlag:
    def __init__(self) -> None:
        self.stopped = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._set)

    def _set(self, *_: Any) -> None:
        self.stopped = True


def _broker(stack: ExitStack, configured: str) -> tuple[str, bool]:
    """The bootstrap address, and whether this demo started (and so will stop) the broker."""
    if os.environ.get("SLA_BOOTSTRAP_SERVERS"):
        click.echo(f"using Kafka at {configured} (SLA_BOOTSTRAP_SERVERS)", err=True)
        return configured, False
    from processor.localkafka import LocalKafka

    kafka = LocalKafka()
    started = kafka.start()
    if started:
        stack.callback(kafka.stop)
        click.echo(f"started local Kafka at {kafka.bootstrap} (log: {kafka.log_file})", err=True)
    else:
        click.echo(f"using the local Kafka already running at {kafka.bootstrap}", err=True)
    return kafka.bootstrap, started


def _paging(stack: ExitStack, env: dict[str, str]) -> str | None:
    """Alertmanager (on 9093 if free) and `sla-processor page` forwarding to it; its URL, or
    None when prometheus-alertmanager is not installed."""
    from processor.paging.localam import LocalAlertmanager, alertmanager_binary

    if alertmanager_binary() is None:
        click.echo(
            "prometheus-alertmanager not installed: no pages (make setup installs it)", err=True
        )
        return None
    port = 9093 if _port_free(9093) else _free_port()
    am = LocalAlertmanager(RUN_DIR / "alertmanager", port, group_wait="10s")
    am.start()
    stack.callback(am.stop)
    paging_env = {
        **env,
        "SLA_ALERTMANAGER_URL": am.url,
        "SLA_PAGING_WEB_PORT": env.get("SLA_PAGING_WEB_PORT") or str(_free_port()),
    }
    stack.enter_context(_Child("page", ["page"], paging_env))
    return f"{am.url}/#/alerts"


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_checked(cmd: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise click.ClickException(f"{' '.join(cmd[2:])} failed:\n{result.stderr.strip()}")


class _Child:
    """A child `sla-processor` process, stopped with SIGTERM (then SIGKILL) on exit."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], show: bool = False):
        self.name, self.args, self.env, self.show = name, args, env, show
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> subprocess.Popen[bytes]:
        out: Any = None if self.show else (RUN_DIR / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "processor", *self.args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )
        if out is not None:
            out.close()
        return self.proc

    def __exit__(self, *_: object) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _ingest(stack: ExitStack, env: dict[str, str], port: int | None, stop: _StopFlag) -> str:
    """Start `ingest` with a per-run signing secret (unless one is set); return its URL."""
    port = port or int(os.environ.get("SLA_INGEST_PORT", "8088"))
    env["SLA_INGEST_PORT"] = str(port)
    env.setdefault("SLA_ZENDESK_SIGNING_SECRET", secrets.token_urlsafe(24))
    env.setdefault("SLA_DEFAULT_TIER", "gold")  # the sample's customer, without a directory
    sample_directory = Path(__file__).resolve().parents[1] / "examples" / "customers.yaml"
    if sample_directory.exists():  # a source checkout (the demo's sample customers)
        env.setdefault("SLA_CUSTOMER_DIRECTORY", str(sample_directory))
    stack.enter_context(_Child("ingest", ["ingest"], env))
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url, stop, name="ingest")
    return url


def _sample(url: str, env: dict[str, str]) -> None:
    """One signed Zendesk webhook for a backdated urgent gold ticket: alerts within seconds."""
    from processor.ingest.sample import send_sample

    status, ticket, answer = send_sample(
        url, env["SLA_ZENDESK_SIGNING_SECRET"], parse_duration("29m")
    )
    click.echo(f"sent a signed sample Zendesk webhook for {ticket}: {status} {answer}", err=True)


def _wait_healthy(url: str, stop: _StopFlag, timeout: float = 120, name: str = "worker") -> None:
    deadline = time.monotonic() + timeout
    click.echo(f"waiting for the {name} to be ready...", err=True)
    while time.monotonic() < deadline and not stop.stopped:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise click.ClickException(f"{name} not ready at {url}/healthz; see {RUN_DIR}/{name}.log")


def _banner(bootstrap: str, url: str, ingest_url: str, pages: str | None) -> None:
    lines = [
        "",
        "sla-processor demo is running",
        f"  Kafka:        {bootstrap}",
        f"  metrics:      {url}/metrics",
        f"  Alertmanager: {pages or '(not installed)'}",
        f"  health:       {url}/healthz",
        f"  ticket state: {url}/tickets/<ticket_id>",
        f"  webhooks:     {ingest_url}/webhooks/zendesk (signed), {ingest_url}/metrics",
        f"  logs:         {RUN_DIR}/{{worker,ingest,page,simulate}}.log",
        f"  events sent:  {RUN_DIR}/demo-events.jsonl (sla-processor replay FILE, or report FILE)",
        "alerts as they are published (Ctrl-C stops everything):",
    ]
    click.echo("\n".join(lines))
    sys.stdout.flush()


def _wait(stop: _StopFlag, duration: float | None, tail: subprocess.Popen[bytes]) -> None:
    started = time.monotonic()
    while not stop.stopped and tail.poll() is None:
        if duration is not None and time.monotonic() - started >= duration:
            return
        time.sleep(0.2)

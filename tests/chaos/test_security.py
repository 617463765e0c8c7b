"""Issue 8 (security): the worker on a SASL_SSL + SCRAM-SHA-512 listener of the real broker.

One broker per module (free ports, fresh data dir) with a PLAINTEXT listener (setup only) and a
SASL_SSL listener whose certificate comes from a CA made with keytool. The worker is given only
the SASL_SSL address; events are produced and alerts read over SASL_SSL with the same user.
Every password is random, so finding it anywhere is a leak, never a coincidence.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError
from security_helpers import (
    SecureBroker,
    created,
    distinctive_password,
    files_containing,
    free_ports,
    produce_secure,
    read_secure,
    start_secure_broker,
)

from devtools import REPO, Topics, WorkerProcess
from processor.settings import Settings

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

FAIL_FAST_SECONDS = 30.0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    secure = start_secure_broker(tmp_path_factory.mktemp("kafka-sasl-ssl"))
    try:
        yield secure
    finally:
        secure.kafka.stop()
        # LocalKafka.stop() can return while the JVM's main thread is a zombie that is not
        # reaped yet; reap it so Popen.__del__ does not warn "subprocess ... is still running".
        popen = getattr(secure.kafka, "_popen", None)
        if popen is not None:
            popen.wait(timeout=30)


def _topics(label: str) -> Topics:
    suffix = secrets.token_hex(4)
    return Topics(
        f"sec-ev-{label}-{suffix}",
        f"sec-al-{label}-{suffix}",
        f"sec-dlq-{label}-{suffix}",
        f"sec-app-{label}-{suffix}",
        partitions=2,
    )


@dataclass
class SecuredRun:
    """A worker (debug logging) that processed one backdated ticket, all over SASL_SSL."""

    worker: WorkerProcess
    topics: Topics
    alerts: list[dict[str, Any]]
    seconds_to_ready: float
    seconds_to_alerts: float


def _both_near_breaches(records: list[dict[str, Any]]) -> bool:
    near = {r["threshold"] for r in records if r["type"] == "sla.near_breach"}
    return {0.75, 0.9} <= near


@pytest.fixture(scope="module")
def secured_run(
    broker: SecureBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecuredRun]:
    topics = _topics("run")
    env = broker.worker_env(SLA_LOG_LEVEL="debug")
    worker = WorkerProcess(broker.secure, topics, tmp_path_factory.mktemp("worker"), env)
    began = time.monotonic()
    worker.start()
    try:
        worker.wait_ready(timeout=90)  # it created the topics itself, over SASL_SSL
        ready = time.monotonic() - began
        now = datetime.now(UTC).replace(microsecond=0)
        # Gold P1 (30 min): 75% and 90% are already past -> both near-breaches at once.
        ticket = created("S1", now - timedelta(minutes=29, seconds=50), "gold", 1)
        began = time.monotonic()
        asyncio.run(produce_secure(broker, topics.events, [ticket]))
        alerts = asyncio.run(read_secure(broker, topics.alerts, _both_near_breaches, 30.0))
        yield SecuredRun(worker, topics, alerts, ready, time.monotonic() - began)
    finally:
        worker.stop()


def _run_worker(
    broker: SecureBroker, data_dir: Path, topics: Topics, env: dict[str, str]
) -> tuple[int, str, float]:
    """One `sla-processor worker` run that is expected to fail: (exit code, output, seconds)."""
    full = {
        **os.environ,
        **topics.env(),
        "SLA_BOOTSTRAP_SERVERS": broker.secure,
        "SLA_WEB_PORT": str(free_ports(1)[0]),
        "SLA_DATA_DIR": str(data_dir),
        **env,
    }
    began = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "processor", "worker"],
            cwd=REPO,
            env=full,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired as exc:  # the child was killed: still a bounded test
        out = (exc.stdout or b"") + (exc.stderr or b"")
        text = out.decode(errors="replace") if isinstance(out, bytes) else out
        pytest.fail(f"worker still running after 60 s instead of failing fast:\n{text[-3000:]}")
    return result.returncode, result.stdout + result.stderr, time.monotonic() - began


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


# -- 1. the whole path on SASL_SSL ------------------------------------------------------------


def test_worker_on_sasl_ssl_processes_a_ticket_and_alerts_are_read_over_sasl_ssl(
    broker: SecureBroker, secured_run: SecuredRun
) -> None:
    worker = secured_run.worker
    print(
        f"SASL_SSL worker ready after {secured_run.seconds_to_ready:.1f} s; both near-breach "
        f"alerts read back {secured_run.seconds_to_alerts:.1f} s after producing"
    )
    near = sorted(
        a["threshold"]
        for a in secured_run.alerts
        if a["type"] == "sla.near_breach" and a["ticket_id"] == "S1"
    )
    assert near == [0.75, 0.9], secured_run.alerts
    assert secured_run.seconds_to_alerts < 20
    assert all(a["tier"] == "gold" and a["priority"] == 1 for a in secured_run.alerts)

    status, body = worker.get("/tickets/S1")
    assert status == 200, body
    view = json.loads(body)
    assert view["state"] == "awaiting_first_response"
    assert {sent["threshold"] for sent in view["alerts_sent"]} >= {0.75, 0.9}
    assert worker.get("/healthz")[0] == 200
    # The worker knew no other address than the SASL_SSL listener's.
    assert worker.proc is not None and worker.proc.poll() is None
    assert broker.plain not in worker.tail(10**6)


def test_the_sasl_ssl_listener_rejects_a_client_with_a_wrong_password(
    broker: SecureBroker,
) -> None:
    """The listener really enforces SCRAM (so test 1 proves authenticated access)."""

    async def connect() -> None:
        kwargs = broker.client_kwargs(password=distinctive_password("wrong"))
        admin = AIOKafkaAdminClient(request_timeout_ms=5000, **kwargs)
        try:
            await admin.start()
        finally:
            await admin.close()

    with pytest.raises(Exception, match="bootstrap"):
        asyncio.run(connect())


# -- 2. bad credentials fail fast, in one clear line ------------------------------------------


@pytest.mark.parametrize("case", ["wrong password", "unknown user"])
def test_bad_credentials_fail_fast_with_one_clear_line(
    broker: SecureBroker, tmp_path: Path, case: str
) -> None:
    bad = distinctive_password("wrong")
    user = broker.user if case == "wrong password" else "nobody-here"
    env = broker.worker_env(bad, SLA_SASL_USERNAME=user, SLA_LOG_LEVEL="debug")
    code, output, seconds = _run_worker(broker, tmp_path, _topics("bad"), env)
    print(f"{case}: exit {code} after {seconds:.1f} s: {output.strip()}")

    assert code != 0
    assert seconds < FAIL_FAST_SECONDS
    assert "Traceback" not in output
    assert bad not in output and broker.password not in output
    lines = _lines(output)
    assert len(lines) == 1, f"expected one error line, got:\n{output}"
    line = lines[0].lower()
    assert "authentication failed" in line, output
    assert broker.secure in line and user.lower() in line, output


@pytest.mark.parametrize("case", ["missing", "not a certificate"])
def test_unusable_ca_file_fails_with_one_clear_line(
    broker: SecureBroker, tmp_path: Path, case: str
) -> None:
    cafile = tmp_path / "ca.pem"
    if case == "not a certificate":
        cafile.write_text("this is not a PEM certificate\n")
    env = broker.worker_env(SLA_SSL_CAFILE=str(cafile))
    code, output, seconds = _run_worker(broker, tmp_path / "w", _topics("ca"), env)
    print(f"CA file {case}: exit {code} after {seconds:.1f} s: {output.strip()}")

    assert code != 0 and seconds < FAIL_FAST_SECONDS
    assert "Traceback" not in output, output
    assert broker.password not in output
    lines = _lines(output)
    assert len(lines) == 1, output
    assert "ssl_cafile" in lines[0].lower() or "SLA_SSL_CAFILE" in lines[0], output


# -- 3. secrets never leak --------------------------------------------------------------------


def test_password_is_in_no_log_page_or_file(broker: SecureBroker, secured_run: SecuredRun) -> None:
    password = broker.password
    worker = secured_run.worker
    assert worker.log_path is not None
    log = worker.log_path.read_text(errors="replace")
    # The check means something only if the worker logged at debug and SCRAM ran.
    assert "[DEBUG]" in log and "SaslAuthenticate" in log, log[-2000:]
    assert password not in log

    for path in ("/tickets/S1", "/metrics", "/healthz", "/tickets/unknown"):
        _, body = worker.get(path)
        assert password.encode() not in body, path

    # Worker state and log, broker logs/config/metadata: SCRAM keeps only salted keys.
    assert files_containing(worker.data_dir, password) == []
    assert files_containing(broker.kafka.paths.data_dir, password) == []


def test_failing_runs_given_the_real_password_do_not_print_it(
    broker: SecureBroker, secured_run: SecuredRun, tmp_path: Path
) -> None:
    cases: dict[str, tuple[Topics, dict[str, str]]] = {
        # authenticates fine, then refuses: the input topic has 2 partitions, not 3
        "partition mismatch": (secured_run.topics, {"SLA_PARTITIONS": "3"}),
        # the broker only enables SCRAM-SHA-512
        "mechanism not enabled": (_topics("mech"), {"SLA_SASL_MECHANISM": "SCRAM-SHA-256"}),
        # invalid settings next to a valid password
        "no username": (_topics("nouser"), {"SLA_SASL_USERNAME": ""}),
        "bad store": (_topics("store"), {"SLA_STORE": "bogus://"}),
    }
    for index, (case, (topics, extra)) in enumerate(cases.items()):
        env = broker.worker_env(SLA_LOG_LEVEL="debug", **extra)
        code, output, seconds = _run_worker(broker, tmp_path / str(index), topics, env)
        print(f"{case}: exit {code} after {seconds:.1f} s: {output.strip()}")
        assert code != 0, case
        assert seconds < FAIL_FAST_SECONDS, case
        assert broker.password not in output, case
        assert "Traceback" not in output, f"{case}:\n{output}"
        assert len(_lines(output)) == 1, f"{case}: expected one error line, got:\n{output}"


def test_settings_repr_and_validation_errors_hide_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Short on purpose: pydantic shortens long input values in messages, which would hide a leak.
    password = distinctive_password("pw")[:14]
    good = Settings(
        security_protocol="SASL_SSL", sasl_username="sla-worker", sasl_password=password
    )
    assert password not in repr(good) and password not in str(good)
    assert good.sasl_password is not None and password not in repr(good.sasl_password)

    bad_inputs: dict[str, dict[str, Any]] = {
        "field error": {"sasl_password": password, "web_port": 0},
        "no username (model check)": {"security_protocol": "SASL_SSL", "sasl_password": password},
        "bad store (model check)": {
            "security_protocol": "SASL_SSL",
            "sasl_username": "sla-worker",
            "sasl_password": password,
            "store": "bogus://",
        },
    }
    for case, kwargs in bad_inputs.items():
        with pytest.raises(ValidationError) as caught:
            Settings(**kwargs)
        assert password not in str(caught.value), f"{case}: {caught.value}"
        assert password not in repr(caught.value), case

    # The same from the environment, as the worker reads it.
    monkeypatch.setenv("SLA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("SLA_SASL_PASSWORD", password)
    monkeypatch.delenv("SLA_SASL_USERNAME", raising=False)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert password not in str(caught.value), str(caught.value)

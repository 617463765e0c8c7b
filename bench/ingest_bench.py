"""Ingest webhooks per second and latency, with Debian's `wrk` as the load generator.

Starts `sla-processor ingest` against the benchmark broker ($BENCH_BOOTSTRAP, default
127.0.0.1:29092, or `--own-broker` to start one on free ports), pre-signs N distinct Zendesk
webhooks (wrk's Lua has no HMAC, so a Lua table cycles through them), then:
1. max rate: wrk with C connections for D seconds -> webhooks/s (every one acked by Kafka);
2. half that rate, paced by wrk's `delay()` per connection -> p50/p99/p99.9 latency.
It prints one JSON line per phase and a summary, with the CPU seconds of ingest and of wrk
itself (both read from the kernel), since they share the same cores.

    .venv/bin/python bench/ingest_bench.py [--quick] [--own-broker]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import bootstrap, emit, machine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from devtools.processes import processor_env  # noqa: E402
from processor.ingest.signatures import sign_zendesk  # noqa: E402

SECRET = "bench-signing-secret"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bodies(n: int) -> list[tuple[str, str, str]]:
    """(body, timestamp, signature) of n distinct ticket.created webhooks."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    created = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = uuid.uuid4().hex[:8]
    out = []
    for i in range(n):
        payload = {
            "type": "zen:event-type:ticket.created",
            "account_id": 1,
            "id": f"{run}-{i}",
            "time": created,
            "zendesk_event_version": "2022-11-06",
            "subject": f"zen:ticket:{i}",
            "detail": {
                "id": f"{run}{i}",
                "created_at": created,
                "priority": "HIGH",
                "status": "NEW",
                "organization_id": "8447346622462",
                "requester_id": str(1000 + i),
                "subject": "bench",
                "tags": [],
            },
            "event": {},
        }
        body = json.dumps(payload, separators=(",", ":"))
        out.append((body, stamp, sign_zendesk(SECRET, stamp, body.encode())))
    return out


def _lua(bodies: list[tuple[str, str, str]], delay_ms: float | None) -> str:
    rows = ",\n".join("{" + ",".join(json.dumps(x) for x in row) + "}" for row in bodies)
    pace = f"function delay() return {delay_ms:.3f} end\n" if delay_ms else ""
    return f"""
local reqs = {{
{rows}
}}
local i = 0
wrk.method = "POST"
function request()
  i = i % #reqs + 1
  local r = reqs[i]
  return wrk.format("POST", "/webhooks/zendesk", {{
    ["Content-Type"] = "application/json",
    ["X-Zendesk-Webhook-Signature-Timestamp"] = r[2],
    ["X-Zendesk-Webhook-Signature"] = r[3]}}, r[1])
end
{pace}"""


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(url: str, script: Path, conns: int, seconds: int, ingest_pid: int) -> dict[str, object]:
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    before = _cpu_of(ingest_pid)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read() if proc.stdout else ""
    wall = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"wrk failed:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {
        p: round(float(v) * _UNITS[u], 3)
        for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "webhooks_per_s": round(rate),
        "p50_ms": pct.get("50"),
        "p90_ms": pct.get("90"),
        "p99_ms": pct.get("99"),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(0) if errors else None,
        "connections": conns,
        "seconds": round(wall, 1),
        "ingest_cpu_s": round(_cpu_of(ingest_pid) - before, 2),
        "wrk_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
    }


def _paced(
    url: str, script: Path, bodies: list[tuple[str, str, str]], rate: float, seconds: int, pid: int
) -> dict[str, object]:
    """wrk at about `rate`: each of 16 connections waits `delay` ms after each answer; the delay
    is corrected once from a short calibration run (wrk 4.1 has no fixed-rate mode)."""
    conns = 16
    delay = conns * 1000 / rate
    for _ in range(2):
        script.write_text(_lua(bodies, delay))
        probe = _wrk(url, script, conns, 3, pid)
        per_request_ms = conns * 1000 / float(probe["webhooks_per_s"])  # type: ignore[arg-type]
        delay = max(delay - (per_request_ms - conns * 1000 / rate), 0.1)
    script.write_text(_lua(bodies, delay))
    return _wrk(url, script, conns, seconds, pid)


def _start_ingest(kafka: str, topic: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = processor_env()
    env.update(
        SLA_BOOTSTRAP_SERVERS=kafka,
        SLA_EVENTS_TOPIC=topic,
        SLA_INGEST_PORT=str(port),
        SLA_ZENDESK_SIGNING_SECRET=SECRET,
        SLA_SIGNATURE_TOLERANCE="3600",
        SLA_CUSTOMER_DIRECTORY=str(REPO / "examples/customers.yaml"),
        SLA_LOG_LEVEL="warning",
    )
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "processor", "ingest"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"ingest did not start; see {log}")


async def _create_topic(kafka: str, topic: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 6, 1)])
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 s phases")
    parser.add_argument("--own-broker", action="store_true", help="start a broker on free ports")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk (ops/scripts/install-system-deps.sh)")
    seconds = 5 if args.quick else 20
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    kafka_proc = None
    if args.own_broker:
        from processor.localkafka import LocalKafka

        kafka_proc = LocalKafka(
            port=_free_port(), controller_port=_free_port(), data_dir=work / "kafka"
        )
        kafka_proc.start(timeout=120)
        kafka = kafka_proc.bootstrap
    else:
        kafka = bootstrap()
    topic = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_topic(kafka, topic))
    port = _free_port()
    ingest = _start_ingest(kafka, topic, port, work / "ingest.log")
    url = f"http://127.0.0.1:{port}"
    try:
        bodies = _bodies(2000)
        script = work / "max.lua"
        script.write_text(_lua(bodies, None))
        _wrk(url, script, args.connections, 3, ingest.pid)  # warm-up
        peak = _wrk(url, script, args.connections, seconds, ingest.pid)
        emit({"bench": "ingest", "phase": "max", **peak})
        half = int(peak["webhooks_per_s"]) / 2  # type: ignore[call-overload]
        paced = _paced(url, work / "half.lua", bodies, half, seconds, ingest.pid)
        emit({"bench": "ingest", "phase": "half", "target_per_s": round(half), **paced})
        emit(
            {
                "summary": "ingest",
                "max_webhooks_per_s": peak["webhooks_per_s"],
                "half_rate_per_s": paced["webhooks_per_s"],
                "half_rate_p50_ms": paced["p50_ms"],
                "half_rate_p99_ms": paced["p99_ms"],
                "max_wrk_cpu_s": peak["wrk_cpu_s"],
                "max_ingest_cpu_s": peak["ingest_cpu_s"],
                "machine": machine(),
                "load_average": os.getloadavg(),
                "max_rss_children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
            }
        )
    finally:
        ingest.send_signal(signal.SIGTERM)
        ingest.wait(30)
        if kafka_proc is not None:
            kafka_proc.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Command line: ``start``, ``stop``, ``status`` and ``logs`` for the local broker."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .broker import LocalKafka
from .cli_cluster import cluster_main
from .diagnose import tail_text
from .errors import LocalKafkaError
from .security import SaslSslConfig, ScramUser, ensure_tls_material, sasl_ssl
from .settings import KAFKA_VERSION, check_port_number, resolve

EXIT_STOPPED = 3  # like LSB init scripts: "status" of a service that is not running


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m processor.localkafka",
        description=f"Run a local KRaft Apache Kafka {KAFKA_VERSION} on 127.0.0.1: one node, "
        "or a cluster with --nodes 3.",
        epilog="Defaults come from SLA_KAFKA_PORT, SLA_KAFKA_CONTROLLER_PORT, SLA_KAFKA_DATA_DIR "
        "and SLA_CACHE_DIR, else 19092, 19093, .run/kafka and .cache.",
    )
    parser.add_argument("command", choices=["start", "stop", "status", "logs"])
    parser.add_argument("--port", type=int, help="client (PLAINTEXT) port, default 19092")
    parser.add_argument("--controller-port", type=int, help="KRaft controller port, default 19093")
    parser.add_argument("--data-dir", help="broker state, config and logs (default .run/kafka)")
    parser.add_argument("--timeout", type=float, default=90.0, help="start: seconds to wait")
    parser.add_argument("--follow", "-f", action="store_true", help="logs: keep following")
    parser.add_argument("--lines", "-n", type=int, default=100, help="logs: lines to show")
    parser.add_argument(
        "--nodes",
        type=int,
        default=1,
        help="number of brokers: more than 1 runs a KRaft cluster (node n on port+n-1 and "
        "controller-port+n-1, default ports 19192 and 19292, data dir .run/kafka-cluster)",
    )
    parser.add_argument("--node", type=int, default=1, help="logs of a cluster: which node")
    secure = parser.add_argument_group(
        "SASL_SSL (start)",
        "an extra SASL_SSL listener with SCRAM-SHA-512 and a self-signed CA (<data dir>/tls/ca.pem"
        " for clients); the SCRAM user is created when the data dir is first formatted",
    )
    secure.add_argument("--sasl-ssl-port", type=int, help="port of the SASL_SSL listener")
    secure.add_argument("--scram-user", help="SCRAM-SHA-512 user to create")
    secure.add_argument(
        "--scram-password-env",
        metavar="VAR",
        help="name of the environment variable that holds the user's password",
    )
    return parser


def _security(args: argparse.Namespace) -> SaslSslConfig | None:
    """The SASL_SSL listener for ``start --sasl-ssl-port`` (None without it)."""
    wanted = (args.sasl_ssl_port, args.scram_user, args.scram_password_env)
    if all(value is None for value in wanted):
        return None
    if args.command != "start" or None in wanted:
        raise ValueError(
            "--sasl-ssl-port, --scram-user and --scram-password-env go together, with start"
        )
    check_port_number(args.sasl_ssl_port, "SASL_SSL port")
    password = os.environ.get(args.scram_password_env)
    if not password:  # the password is only ever read from the environment, never printed
        raise ValueError(
            f"environment variable {args.scram_password_env} (the SCRAM password of "
            f"{args.scram_user!r}) is not set or empty"
        )
    user = ScramUser(args.scram_user, password)
    _, _, data_dir = resolve(args.port, args.controller_port, args.data_dir)
    return sasl_ssl(ensure_tls_material(data_dir), args.sasl_ssl_port, [user])


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.nodes != 1:
        return cluster_main(args)
    try:
        args.security = security = _security(args)
        kafka = LocalKafka(
            args.port,
            args.controller_port,
            args.data_dir,
            extra_listeners=[security.listener] if security else [],
            extra_properties=security.properties if security else None,
            extra_format_args=security.format_args if security else (),
        )
        handler = {"start": _start, "stop": _stop, "status": _status, "logs": _logs}
        return handler[args.command](kafka, args)
    except (LocalKafkaError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _note_stale(kafka: LocalKafka, stale: int | None) -> None:
    if stale is not None:
        print(f"removed stale pid file {kafka.paths.pid_file} (pid {stale} is not our broker)")


def _start(kafka: LocalKafka, args: argparse.Namespace) -> int:
    began = time.monotonic()
    formatted_before = kafka.paths.meta_properties.is_file()
    started = kafka.start(timeout=args.timeout)
    status = kafka.status()
    if not started:
        print(f"Kafka already running at {status.bootstrap} (pid {status.pid})")
        return 0
    print(
        f"Kafka {KAFKA_VERSION} ready at {status.bootstrap} (pid {status.pid}) after "
        f"{time.monotonic() - began:.1f} s; log: {status.log_file}"
    )
    security: SaslSslConfig | None = getattr(args, "security", None)
    if security is not None:
        print(
            f"SASL_SSL (SCRAM-SHA-512) at {security.bootstrap}; CA for clients: {security.cafile}"
        )
        if formatted_before:
            print(
                f"note: {kafka.paths.data_dir} was formatted before, so SCRAM user "
                f"{args.scram_user!r} was not (re)created: existing SCRAM users stay as they "
                "were (use a new --data-dir to create it)"
            )
    return 0


def _stop(kafka: LocalKafka, args: argparse.Namespace) -> int:
    pid = kafka.running_pid()
    _note_stale(kafka, kafka.last_stale_pid)
    if pid is None:
        print(f"Kafka is not running (data dir {kafka.paths.data_dir})")
        return 0
    kafka.stop()
    print(f"Kafka stopped (pid {pid})")
    return 0


def _status(kafka: LocalKafka, args: argparse.Namespace) -> int:
    status = kafka.status()
    _note_stale(kafka, status.stale_pid)
    if status.running:
        state = "running" if status.ready else "running, not answering Kafka requests (yet)"
    else:
        state = "stopped"
    print(f"state:     {state}")
    print(f"pid:       {status.pid if status.pid else '-'}")
    print(f"bootstrap: {status.bootstrap}")
    print(f"data dir:  {status.data_dir}")
    print(f"log:       {status.log_file}")
    return 0 if status.running else EXIT_STOPPED


def _logs(kafka: LocalKafka, args: argparse.Namespace) -> int:
    path = kafka.log_file if kafka.log_file.exists() else kafka.paths.broker_out
    if not path.exists():
        raise LocalKafkaError(f"no broker log yet at {kafka.log_file}: start the broker first")
    text = tail_text(path, 0, max_lines=args.lines)
    if text:
        print(text, flush=True)
    if args.follow:
        _follow(path)
    return 0


def _follow(path: Path) -> None:
    """``tail -f`` that survives the log being rolled over (file shrinks or is replaced)."""
    handle = path.open("rb")
    handle.seek(0, 2)
    try:
        while True:
            chunk = handle.read()
            if chunk:
                sys.stdout.write(chunk.decode("utf-8", errors="replace"))
                sys.stdout.flush()
                continue
            time.sleep(0.5)
            if _rotated(path, handle.tell()):
                handle.close()
                handle = path.open("rb")
    finally:
        handle.close()


def _rotated(path: Path, position: int) -> bool:
    try:
        return path.stat().st_size < position
    except FileNotFoundError:
        return False

"""``start|stop|status|logs --nodes N``: the command line of :class:`LocalKafkaCluster`."""

from __future__ import annotations

import argparse
import sys
import time

from .cluster import (
    DEFAULT_CLUSTER_CONTROLLER_PORT,
    DEFAULT_CLUSTER_PORT,
    LocalKafkaCluster,
    cluster_ports,
)
from .diagnose import tail_text
from .errors import LocalKafkaError
from .settings import KAFKA_VERSION

EXIT_STOPPED = 3


def cluster_main(args: argparse.Namespace) -> int:
    try:
        if args.sasl_ssl_port or args.scram_user or args.scram_password_env:
            raise ValueError("--sasl-ssl-port and the SCRAM options are for a single node only")
        ports, controllers = cluster_ports(
            args.nodes,
            args.port or DEFAULT_CLUSTER_PORT,
            args.controller_port or DEFAULT_CLUSTER_CONTROLLER_PORT,
        )
        cluster = LocalKafkaCluster(args.nodes, ports, controllers, args.data_dir)
        handler = {"start": _start, "stop": _stop, "status": _status, "logs": _logs}
        return handler[args.command](cluster, args)
    except (LocalKafkaError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _start(cluster: LocalKafkaCluster, args: argparse.Namespace) -> int:
    began = time.monotonic()
    if not cluster.start(timeout=max(args.timeout, 120.0)):
        print(f"Kafka cluster already running at {cluster.bootstrap}")
        return 0
    pids = ", ".join(str(status.pid) for status in cluster.status())
    print(
        f"Kafka {KAFKA_VERSION} cluster of {args.nodes} nodes ready at {cluster.bootstrap} "
        f"(pids {pids}) after {time.monotonic() - began:.1f} s; data: {cluster.data_dir}"
    )
    return 0


def _stop(cluster: LocalKafkaCluster, args: argparse.Namespace) -> int:
    pids = [status.pid for status in cluster.status() if status.pid]
    if not cluster.stop():
        print(f"Kafka cluster is not running (data dir {cluster.data_dir})")
        return 0
    print(f"Kafka cluster stopped (pids {', '.join(map(str, pids))})")
    return 0


def _status(cluster: LocalKafkaCluster, args: argparse.Namespace) -> int:
    statuses = cluster.status()
    for node_id, status in enumerate(statuses, start=1):
        state = "stopped"
        if status.running:
            state = "running" if status.ready else "running, not answering (yet)"
        pid = status.pid if status.pid else "-"
        print(f"node {node_id}: {state:<8} pid {pid:<8} {status.bootstrap}  {status.log_file}")
    running = sum(status.running for status in statuses)
    print(f"{running} of {len(statuses)} nodes running; data dir {cluster.data_dir}")
    return 0 if running else EXIT_STOPPED


def _logs(cluster: LocalKafkaCluster, args: argparse.Namespace) -> int:
    if not 1 <= args.node <= len(cluster.nodes):
        raise ValueError(f"--node must be 1-{len(cluster.nodes)}")
    node = cluster.node(args.node)
    if args.follow:
        raise ValueError(f"--follow is for a single node; use: tail -F {node.log_file}")
    path = node.log_file if node.log_file.exists() else node.paths.broker_out
    if not path.exists():
        raise LocalKafkaError(f"no log of node {args.node} yet at {node.log_file}: start it first")
    print(tail_text(path, 0, max_lines=args.lines), flush=True)
    return 0

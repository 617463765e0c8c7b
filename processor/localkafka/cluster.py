"""``LocalKafkaCluster``: several KRaft nodes (combined broker+controller) on 127.0.0.1.

    from processor.localkafka import LocalKafkaCluster
    with LocalKafkaCluster(nodes=3, data_dir="/tmp/kc") as cluster:   # free ports by default
        print(cluster.bootstrap)       # 127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
        cluster.node(2).kill()         # kill -9 one node; cluster.node(2).start() brings it back

Each node is a :class:`LocalKafka` with its own data dir (``<data dir>/node-<id>``), ports, PID
file and log; they share one static voter set and one cluster id. The internal topics get a
replication factor of ``min(nodes, 3)`` and a minimum ISR one less (at least 1).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from . import probe, props
from .broker import BrokerStatus, LocalKafka
from .errors import StartupError
from .settings import ENV_DATA_DIR, HOST, Paths, check_port_number, repo_root

DEFAULT_CLUSTER_PORT = 19192  # node n listens on DEFAULT_CLUSTER_PORT + n - 1
DEFAULT_CLUSTER_CONTROLLER_PORT = 19292
MAX_NODES = 9


def free_ports(count: int) -> list[int]:
    """Distinct ports the OS reports free right now (all held open together while choosing)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def cluster_ports(nodes: int, port: int, controller_port: int) -> tuple[list[int], list[int]]:
    """Consecutive client ports from ``port`` and controller ports from ``controller_port``."""
    ports = [port + i for i in range(nodes)]
    controllers = [controller_port + i for i in range(nodes)]
    if set(ports) & set(controllers):
        raise ValueError(
            f"with {nodes} nodes the client ports are {ports[0]}-{ports[-1]} and the controller "
            f"ports {controllers[0]}-{controllers[-1]}: they overlap, choose ports further apart"
        )
    return ports, controllers


class LocalKafkaCluster:
    """Starts, probes and stops ``nodes`` local brokers that form one KRaft cluster."""

    def __init__(
        self,
        nodes: int = 3,
        ports: Sequence[int] | None = None,
        controller_ports: Sequence[int] | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        heap: str = "384m",
    ) -> None:
        if not 1 <= nodes <= MAX_NODES:
            raise ValueError(f"a local cluster has 1-{MAX_NODES} nodes, not {nodes}")
        chosen = free_ports(2 * nodes) if ports is None or controller_ports is None else []
        client = list(ports) if ports is not None else chosen[:nodes]
        control = list(controller_ports) if controller_ports is not None else chosen[nodes:]
        _check_ports(nodes, client, control)
        default_dir = os.environ.get(ENV_DATA_DIR) or repo_root() / ".run" / "kafka-cluster"
        self.data_dir = Path(data_dir or default_dir).expanduser().resolve()
        voters = props.voters(control)
        cluster_id = _existing_cluster_id(self.data_dir, nodes) or props.new_cluster_id()
        self._started_here = False
        self.nodes = [
            LocalKafka(
                client[i],
                control[i],
                self.data_dir / f"node-{i + 1}",
                cache_dir=cache_dir,
                heap=heap,
                quorum=props.Quorum(i + 1, voters, replication=min(nodes, 3)),
                cluster_id=cluster_id,
            )
            for i in range(nodes)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    def node(self, node_id: int) -> LocalKafka:
        """The node with ``node.id`` = ``node_id`` (1-based)."""
        return self.nodes[node_id - 1]

    def __repr__(self) -> str:
        return f"LocalKafkaCluster(bootstrap={self.bootstrap!r}, data_dir={str(self.data_dir)!r})"

    def __enter__(self) -> LocalKafkaCluster:
        self._started_here = self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._started_here:  # like LocalKafka: a cluster that already ran stays up
            self.stop()

    def status(self) -> list[BrokerStatus]:
        return [node.status() for node in self.nodes]

    def start(self, timeout: float = 120.0) -> bool:
        """Start the nodes that are not running and wait until every node is registered;
        False if all of them already ran. A node that fails stops the ones started here."""
        deadline = time.monotonic() + timeout
        idle = [node for node in self.nodes if node.running_pid() is None]
        if not idle:
            for node in self.nodes:
                node.launch()  # raises AlreadyRunningError if it runs with other ports
            return False
        for node in idle:  # every port before any JVM, so a clash leaves nothing running
            node.check_ports()
        launched: list[LocalKafka] = []
        try:
            with ThreadPoolExecutor(max_workers=len(idle)) as pool:  # formats run in parallel
                results = list(pool.map(_launch, idle))
            launched = [node for node, ok in zip(idle, results, strict=True) if ok is True]
            failed = [result for result in results if isinstance(result, BaseException)]
            if failed:
                raise failed[0]
            for node in launched:  # a lone node cannot get ready: it needs a quorum
                node.wait_ready(max(deadline - time.monotonic(), 1.0))
            self.wait_brokers(len(self.nodes), max(deadline - time.monotonic(), 1.0))
        except BaseException:
            self._stop_all(launched)
            raise
        return True

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop every node at once (one by one, the last ones would wait for a lost quorum)."""
        return any(self._stop_all(self.nodes, timeout))

    @staticmethod
    def _stop_all(nodes: Sequence[LocalKafka], timeout: float = 30.0) -> list[bool]:
        if not nodes:
            return []
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            return list(pool.map(lambda node: node.stop(timeout), nodes))

    # -- cluster state ------------------------------------------------------------------------

    def metadata(self) -> probe.ClusterMetadata:
        """Cluster metadata from the first node that answers; raises StartupError if none."""
        for node in self.nodes:
            try:
                return probe.fetch_metadata(HOST, node.port, timeout=2.0)
            except (OSError, probe.ProtocolError):
                continue
        raise StartupError(f"no node of the cluster at {self.bootstrap} answers")

    def leader(self, topic: str, partition: int) -> int:
        """``node.id`` of the partition's leader (-1 while none is elected)."""
        for info in self.metadata().partitions:
            if info.topic == topic and info.partition == partition:
                return info.leader
        raise StartupError(f"topic {topic!r} has no partition {partition} on {self.bootstrap}")

    def under_replicated(self) -> list[probe.PartitionInfo]:
        return [info for info in self.metadata().partitions if info.under_replicated]

    def wait_brokers(self, count: int, timeout: float = 60.0) -> None:
        self._wait(lambda: len(self.metadata().brokers) >= count, timeout, f"{count} brokers")

    def wait_in_sync(self, timeout: float = 120.0) -> None:
        """Until every partition has a leader and all its replicas in the ISR."""
        self._wait(lambda: not self.under_replicated(), timeout, "all replicas in sync")

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if done():
                    return
            except StartupError:
                pass
            time.sleep(0.25)
        where = self.bootstrap
        raise StartupError(f"the cluster at {where} did not reach {what} in {timeout:.0f} s")


def _launch(node: LocalKafka) -> bool | BaseException:
    try:
        return node.launch()
    except BaseException as exc:  # reported after the others were launched (and are stopped)
        return exc


def _check_ports(nodes: int, client: Sequence[int], control: Sequence[int]) -> None:
    if len(client) != nodes or len(control) != nodes:
        raise ValueError(f"{nodes} nodes need {nodes} client and {nodes} controller ports")
    for port in [*client, *control]:
        check_port_number(port)
    if len({*client, *control}) != 2 * nodes:
        raise ValueError(f"the ports of a cluster must all differ: {list(client)} {list(control)}")


def _existing_cluster_id(data_dir: Path, nodes: int) -> str | None:
    """The cluster id the formatted nodes share (None if none is formatted yet)."""
    found = {}
    for i in range(1, nodes + 1):
        meta = props.read(Paths(data_dir / f"node-{i}").meta_properties)
        if meta.get("cluster.id"):
            found[i] = meta["cluster.id"]
    if len(set(found.values())) > 1:
        raise StartupError(
            f"the nodes in {data_dir} were formatted for different clusters ({found}): "
            f"delete it (rm -rf {data_dir}) or use another --data-dir"
        )
    return next(iter(found.values()), None)

"""The cluster and secret-handling parts of processor.localkafka that need no JVM."""

from __future__ import annotations

import socket
import stat
import subprocess
from pathlib import Path

import pytest

from processor.localkafka import LocalKafka, LocalKafkaCluster, PortInUseError, cli, props
from processor.localkafka.cluster import cluster_ports
from processor.localkafka.commands import format_storage, write_format_args, write_private
from processor.localkafka.errors import StartupError
from processor.localkafka.settings import Paths
from processor.settings import Settings


def test_cluster_node_properties_share_voters_and_replicate_internal_topics(
    tmp_path: Path,
) -> None:
    cluster = LocalKafkaCluster(3, [29192, 29193, 29194], [29292, 29293, 29294], tmp_path)
    voters = "1@127.0.0.1:29292,2@127.0.0.1:29293,3@127.0.0.1:29294"
    for node_id, node in enumerate(cluster.nodes, start=1):
        p = props.server_properties(node.paths, node.port, node.controller_port, quorum=node.quorum)
        assert p["node.id"] == str(node_id)
        assert p["controller.quorum.voters"] == voters
        assert (
            p["listeners"]
            == f"PLAINTEXT://127.0.0.1:{29191 + node_id},CONTROLLER://127.0.0.1:{29291 + node_id}"
        )
        assert p["log.dirs"] == str(tmp_path / f"node-{node_id}" / "kafka-logs")
        for key in ("offsets.topic.replication.factor", "default.replication.factor"):
            assert p[key] == "3", key
        assert p["min.insync.replicas"] == p["transaction.state.log.min.isr"] == "2"
    assert cluster.bootstrap == "127.0.0.1:29192,127.0.0.1:29193,127.0.0.1:29194"
    assert len({node.cluster_id for node in cluster.nodes}) == 1  # one id, formatted by all


def test_single_node_defaults_are_unchanged(tmp_path: Path) -> None:
    p = props.server_properties(Paths(tmp_path), 29092, 29093)
    assert p["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert p["min.insync.replicas"] == p["offsets.topic.replication.factor"] == "1"


def test_cluster_picks_distinct_free_ports_and_own_data_dirs(tmp_path: Path) -> None:
    cluster = LocalKafkaCluster(3, data_dir=tmp_path)
    ports = [n.port for n in cluster.nodes] + [n.controller_port for n in cluster.nodes]
    assert len(set(ports)) == 6
    assert len({n.paths.data_dir for n in cluster.nodes}) == 3


def test_cluster_port_errors_are_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="overlap"):
        cluster_ports(3, 29192, 29193)
    with pytest.raises(ValueError, match="must all differ"):
        LocalKafkaCluster(2, [29192, 29193], [29193, 29294], tmp_path)
    with pytest.raises(ValueError, match="1-9 nodes"):
        LocalKafkaCluster(0, data_dir=tmp_path)


def test_a_busy_port_of_the_third_node_starts_no_node(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        cluster = LocalKafkaCluster(3, data_dir=tmp_path)
        cluster.nodes[2].port = taken
        with pytest.raises(PortInUseError, match=f"port {taken} on 127.0.0.1 is already in use"):
            cluster.start(timeout=5)
    assert not any(status.running for status in cluster.status())


def test_nodes_formatted_for_different_clusters_are_refused(tmp_path: Path) -> None:
    for node_id, cluster_id in ((1, "AAAAAAAAAAAAAAAAAAAAAA"), (2, "BBBBBBBBBBBBBBBBBBBBBB")):
        meta = Paths(tmp_path / f"node-{node_id}").meta_properties
        meta.parent.mkdir(parents=True)
        meta.write_text(f"node.id={node_id}\ncluster.id={cluster_id}\n")
    with pytest.raises(StartupError, match="formatted for different clusters"):
        LocalKafkaCluster(3, data_dir=tmp_path)


def test_cli_cluster_status_when_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--nodes", "3", "--data-dir", str(tmp_path), "--port", "29192"]
    assert cli.main(["status", *args, "--controller-port", "29292"]) == cli.EXIT_STOPPED
    out = capsys.readouterr().out
    assert "node 3: stopped" in out and "127.0.0.1:29194" in out and "0 of 3 nodes" in out
    assert cli.main(["start", *args, "--controller-port", "29193"]) == 1
    assert "overlap" in capsys.readouterr().err
    sasl = ["--sasl-ssl-port", "29999", "--scram-user", "u", "--scram-password-env", "P"]
    assert cli.main(["start", *args, *sasl]) == 1
    assert "single node only" in capsys.readouterr().err


# -- secrets: never on a command line, never world-readable ------------------------------------


def test_storage_tool_arguments_go_through_an_owner_only_argfile(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    secret = "SCRAM-SHA-512=[name=svc,password=hunter2-very-secret]"
    write_format_args(paths, "AAAAAAAAAAAAAAAAAAAAAA", ["--add-scram", secret])
    argv = format_storage("java", tmp_path / "libs", paths)
    assert not any("hunter2" in arg for arg in argv)
    assert argv[-1] == f"@{paths.format_args}"
    assert stat.S_IMODE(paths.format_args.stat().st_mode) == 0o600
    assert f'"{secret}"' in paths.format_args.read_text().splitlines()
    with pytest.raises(ValueError, match="quote"):
        write_format_args(paths, "AAAAAAAAAAAAAAAAAAAAAA", ['a"b'])


def test_java_reads_the_argfile_and_shows_only_its_name(tmp_path: Path) -> None:
    """The JVM launcher expands `@file` itself: the arguments reach main(), not /proc."""
    source = tmp_path / "Echo.java"
    source.write_text(
        "public class Echo { public static void main(String[] a) throws Exception {"
        ' System.out.println(String.join("|", a));'
        " System.out.println(new String(java.nio.file.Files.readAllBytes("
        "java.nio.file.Paths.get(\"/proc/self/cmdline\"))).replace('\\0', ' ')); } }"
    )
    subprocess.run(["javac", "-d", str(tmp_path), str(source)], check=True, timeout=120)
    argfile = tmp_path / "args"
    write_private(argfile, '"Echo"\n"--add-scram"\n"SCRAM-SHA-512=[name=u,password=p#q$1]"\n')
    cmd = ["java", "-Xmx32m", "-cp", str(tmp_path), f"@{argfile}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    echoed, cmdline = out.splitlines()[:2]
    assert echoed == "--add-scram|SCRAM-SHA-512=[name=u,password=p#q$1]"
    assert "p#q$1" not in cmdline and f"@{argfile}" in cmdline


def test_write_private_tightens_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "server.properties"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "ssl.keystore.password=x\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "ssl.keystore.password=x\n"


def test_a_node_refuses_a_data_dir_of_another_node(tmp_path: Path) -> None:
    node = LocalKafka(29192, 29292, tmp_path, quorum=props.Quorum(2, "1@127.0.0.1:1"))
    node.paths.meta_properties.parent.mkdir(parents=True)
    node.paths.meta_properties.write_text("node.id=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\n")
    with pytest.raises(StartupError, match=r"node\.id=1 .* but this broker is node\.id=2"):
        node._format_if_needed("java", tmp_path)


# -- replication settings -----------------------------------------------------------------------


def test_min_insync_replicas_above_the_replication_factor_is_refused() -> None:
    with pytest.raises(
        ValueError, match="min_insync_replicas 3 is larger than replication_factor 2"
    ):
        Settings(replication_factor=2, min_insync_replicas=3)
    ok = Settings(replication_factor=3, min_insync_replicas=2)
    assert (ok.replication_factor, ok.min_insync_replicas) == (3, 2)

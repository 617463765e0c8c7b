"""Unit tests of processor.localkafka's pure parts: no broker, no Java, no Maven needed."""

from __future__ import annotations

import base64
import os
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from processor.localkafka import (
    KAFKA_VERSION,
    Listener,
    LocalKafka,
    PortInUseError,
    ToolMissingError,
    cli,
    diagnose,
    fetch,
    probe,
    procs,
    props,
)
from processor.localkafka.settings import Paths, resolve

# -- properties ---------------------------------------------------------------------------------


def _props(tmp_path: Path, **kwargs: object) -> dict[str, str]:
    return props.server_properties(Paths(tmp_path), 29092, 29093, **kwargs)  # type: ignore[arg-type]


def test_server_properties_single_node(tmp_path: Path) -> None:
    p = _props(tmp_path)
    assert p["process.roles"] == "broker,controller"
    assert p["node.id"] == "1"
    assert p["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert p["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert p["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert p["controller.listener.names"] == "CONTROLLER"
    assert p["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert p["log.dirs"] == str(tmp_path / "kafka-logs")
    assert p["group.initial.rebalance.delay.ms"] == "0"
    assert p["auto.create.topics.enable"] == "false" and p["num.partitions"] == "1"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
    ):
        assert p[key] == "1", key


def test_extra_listener_and_overrides(tmp_path: Path) -> None:
    sasl = Listener("SASL_SSL", 29094, protocol="SASL_SSL")
    p = _props(tmp_path, extra_listeners=[sasl], extra_properties={"num.partitions": "3"})
    assert p["listeners"].endswith(",SASL_SSL://127.0.0.1:29094")
    assert p["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092,SASL_SSL://127.0.0.1:29094"
    assert "SASL_SSL:SASL_SSL" in p["listener.security.protocol.map"]
    assert p["inter.broker.listener.name"] == "PLAINTEXT"
    assert p["num.partitions"] == "3"
    with pytest.raises(ValueError, match="duplicate"):
        _props(tmp_path, extra_listeners=[Listener("PLAINTEXT", 1)])


def test_render_parse_round_trip(tmp_path: Path) -> None:
    original = _props(tmp_path) | {"odd.value": "a\\b\nc"}
    text = props.render(original, header="two\nlines")
    assert text.startswith("# two\n# lines\n")
    assert props.parse(text) == original


def test_log4j2_properties_writes_to_broker_log(tmp_path: Path) -> None:
    config = props.parse(props.log4j2_properties(tmp_path / "broker.log"))
    assert config["appender.file.fileName"] == str(tmp_path / "broker.log")
    assert config["rootLogger.appenderRef.file.ref"] == config["appender.file.name"]


def test_cluster_id_is_22_char_base64url_uuid() -> None:
    for _ in range(50):
        cid = props.new_cluster_id()
        assert len(cid) == 22 and not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


# -- settings and tool checks -------------------------------------------------------------------


def test_resolve_env_and_explicit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLA_KAFKA_PORT", "30000")
    monkeypatch.setenv("SLA_KAFKA_CONTROLLER_PORT", "30001")
    monkeypatch.setenv("SLA_KAFKA_DATA_DIR", str(tmp_path))
    assert resolve() == (30000, 30001, tmp_path.resolve())
    assert resolve(31000, 31001, tmp_path / "x")[:2] == (31000, 31001)
    with pytest.raises(ValueError, match="differ"):
        resolve(31000, 31000)
    monkeypatch.setenv("SLA_KAFKA_PORT", "nope")
    with pytest.raises(ValueError, match="SLA_KAFKA_PORT"):
        resolve()


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_402"', 8),
        ("garbage", None),
    ],
)
def test_parse_java_major(output: str, major: int | None) -> None:
    assert fetch.parse_java_major(output) == major


def test_parse_maven_version_with_ansi_codes() -> None:
    assert fetch.parse_maven_version("\x1b[1mApache Maven 3.8.7\x1b[m\nMaven home") == (3, 8)


def test_missing_tools_give_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ToolMissingError, match="Java 17"):
        fetch.check_java()
    with pytest.raises(ToolMissingError, match="mvn"):
        fetch.check_maven()


def test_cached_jars_skip_maven(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    libs = fetch.kafka_home(tmp_path) / "libs"
    libs.mkdir(parents=True)
    (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").touch()
    (libs / fetch.MARKER).touch()

    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError("Maven must not run when the jars are cached")

    monkeypatch.setattr("subprocess.run", no_subprocess)
    assert fetch.ensure_kafka_libs(tmp_path) == libs


# -- PID files and ports ------------------------------------------------------------------------


def test_dead_pid_file_is_stale(tmp_path: Path) -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    kafka = LocalKafka(29092, 29093, tmp_path)
    procs.write_pid(kafka.paths.pid_file, child.pid)
    status = kafka.status()
    assert not status.running and status.stale_pid == child.pid
    assert not kafka.paths.pid_file.exists()


def test_reused_pid_of_other_process_is_stale_and_left_alone(tmp_path: Path) -> None:
    other = subprocess.Popen(["sleep", "30"])
    try:
        kafka = LocalKafka(29092, 29093, tmp_path)
        procs.write_pid(kafka.paths.pid_file, other.pid)
        assert kafka.stop() is False  # not our broker: never signalled
        assert other.poll() is None
        assert not kafka.paths.pid_file.exists()
    finally:
        other.kill()
        other.wait()


def test_garbage_pid_file_is_removed(tmp_path: Path) -> None:
    kafka = LocalKafka(29092, 29093, tmp_path)
    tmp_path.joinpath("broker.pid").write_text("not a pid")
    assert kafka.running_pid() is None and not kafka.paths.pid_file.exists()


def test_zombie_is_not_alive() -> None:
    child = subprocess.Popen(["true"])
    for _ in range(100):
        if not procs.is_alive(child.pid):
            break
        threading.Event().wait(0.02)
    assert not procs.is_alive(child.pid)  # exited but not yet reaped
    child.wait()


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def test_port_in_use_names_port_and_owner(listening: socket.socket, tmp_path: Path) -> None:
    port = listening.getsockname()[1]
    assert not procs.port_is_free(port)
    assert procs.port_owner(port) == os.getpid()
    with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already in use") as e:
        LocalKafka(port, port + 1 if port < 65535 else port - 1, tmp_path).start()
    assert e.value.port == port and e.value.owner_pid == os.getpid()


def test_controller_port_in_use(listening: socket.socket, tmp_path: Path) -> None:
    cport = listening.getsockname()[1]
    free = _free_port()
    with pytest.raises(PortInUseError, match=f"controller port {cport}"):
        LocalKafka(free, cport, tmp_path).start()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- CLI without a broker -----------------------------------------------------------------------


def test_cli_stop_and_status_when_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["stop", "--data-dir", str(tmp_path)]) == 0
    assert "not running" in capsys.readouterr().out
    assert cli.main(["status", "--data-dir", str(tmp_path), "--port", "29092"]) == cli.EXIT_STOPPED
    out = capsys.readouterr().out
    assert "stopped" in out and "127.0.0.1:29092" in out and "broker.log" in out
    assert cli.main(["logs", "--data-dir", str(tmp_path)]) == 1
    assert "no broker log yet" in capsys.readouterr().err


# -- diagnostics and the protocol probe ---------------------------------------------------------


def test_startup_failure_message(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    paths.broker_log.write_text("old run\nERROR boom: Address already in use\n\tat x.y(Z.java)\n")
    text = diagnose.startup_failure("Kafka exited", paths, len("old run\n"), True, "abc")
    assert str(paths.broker_log) in text and "boom" in text
    assert "old run" not in text and "\tat " not in text
    assert "--port" in text and "--data-dir" in text and "rm -rf" in text


def _fake_broker(sock: socket.socket, port: int) -> None:
    conn, _ = sock.accept()
    with conn:
        for _ in range(2):
            size = struct.unpack(">i", conn.recv(4))[0]
            request = conn.recv(size)
            api_key, version, corr = struct.unpack_from(">hhi", request)
            if api_key == probe.API_VERSIONS:
                body = struct.pack(">hi", 0, 2) + struct.pack(">hhhhhh", 18, 0, 4, 3, 0, 12)
            else:
                assert version == 8
                broker = struct.pack(">ih9sih", 1, 9, b"127.0.0.1", port, -1)
                body = struct.pack(">ii", 0, 1) + broker + struct.pack(">h3sii", 3, b"cid", 1, 0)
            payload = struct.pack(">i", corr) + body
            conn.sendall(struct.pack(">i", len(payload)) + payload)


def test_probe_speaks_kafka_protocol(listening: socket.socket) -> None:
    port = listening.getsockname()[1]
    thread = threading.Thread(target=_fake_broker, args=(listening, port), daemon=True)
    thread.start()
    metadata = probe.fetch_metadata("127.0.0.1", port)
    thread.join(5)
    assert metadata.brokers == (probe.BrokerInfo(1, "127.0.0.1", port),)
    assert metadata.cluster_id == "cid" and metadata.controller_id == 1


def test_probe_rejects_non_kafka_listener(listening: socket.socket) -> None:
    def accept_and_close() -> None:
        conn, _ = listening.accept()
        conn.close()

    thread = threading.Thread(target=accept_and_close, daemon=True)
    thread.start()
    assert probe.is_ready("127.0.0.1", listening.getsockname()[1], timeout=2) is False
    thread.join(5)

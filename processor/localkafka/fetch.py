"""Checks for ``java``/``mvn`` and the one-time fetch of the Kafka jars from Maven Central."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import FetchError, ToolMissingError
from .settings import KAFKA_VERSION

MIN_JAVA = 17
MIN_MAVEN = (3, 6)
MARKER = ".complete"


def parse_java_major(version_output: str) -> int | None:
    """``openjdk version "17.0.15"`` -> 17; ``java version "1.8.0_402"`` -> 8."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def parse_maven_version(version_output: str) -> tuple[int, int] | None:
    match = re.search(r"Apache Maven (\d+)\.(\d+)", version_output)
    return (int(match.group(1)), int(match.group(2))) if match else None


def java_executable() -> str:
    """``$JAVA_HOME/bin/java`` if that exists, else ``java`` from ``PATH``."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise ToolMissingError(
            f"java not found on PATH: Kafka {KAFKA_VERSION} needs Java {MIN_JAVA}+ "
            "(e.g. apt-get install openjdk-17-jre-headless, or set JAVA_HOME)"
        )
    return found


def check_java() -> str:
    java = java_executable()
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    major = parse_java_major(result.stderr + result.stdout)
    if major is None or major < MIN_JAVA:
        found = f"Java {major}" if major else "an unknown Java version"
        raise ToolMissingError(
            f"{java} is {found}; Kafka {KAFKA_VERSION} needs Java {MIN_JAVA}+ "
            "(install openjdk-17 or newer, or point JAVA_HOME at it)"
        )
    return java


def check_maven() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise ToolMissingError(
            "mvn (Apache Maven) not found on PATH; it is needed once to fetch the Kafka jars "
            "from Maven Central (e.g. apt-get install maven)"
        )
    result = subprocess.run([mvn, "-B", "-v"], capture_output=True, text=True, check=False)
    version = parse_maven_version(result.stdout + result.stderr)
    if version is None or version < MIN_MAVEN:
        wanted = ".".join(map(str, MIN_MAVEN))
        raise ToolMissingError(f"{mvn} is not Apache Maven {wanted}+ (mvn -v: {version})")
    return mvn


def kafka_home(cache: Path) -> Path:
    return cache / f"kafka-{KAFKA_VERSION}"


def libs_complete(libs: Path) -> bool:
    return (libs / MARKER).is_file() and (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file()


def ensure_kafka_libs(cache: Path) -> Path:
    """The folder with all broker jars; runs Maven only if the marker file is missing."""
    libs = kafka_home(cache) / "libs"
    if libs_complete(libs):
        return libs
    kafka_home(cache).mkdir(parents=True, exist_ok=True)
    with open(kafka_home(cache) / ".fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be fetching right now
        if not libs_complete(libs):
            _fetch(cache, libs)
    return libs


def _fetch(cache: Path, libs: Path) -> None:
    mvn = check_maven()
    home = kafka_home(cache)
    print(
        f"fetching Apache Kafka {KAFKA_VERSION} from Maven Central (first run only)...",
        file=sys.stderr,
        flush=True,
    )
    pom = home / "pom.xml"
    pom.write_bytes(Path(__file__).with_name("pom.xml").read_bytes())
    staging = home / f"libs.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    _run_maven(mvn, pom, staging, cache / "m2")
    jars = sorted(path.name for path in staging.glob("*.jar"))
    (staging / MARKER).write_text("\n".join(jars) + "\n", encoding="utf-8")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    print(f"fetched {len(jars)} jars into {libs}", file=sys.stderr, flush=True)


def _run_maven(mvn: str, pom: Path, output: Path, repo: Path) -> None:
    command = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={output}",
        f"-Dmaven.repo.local={repo}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not (output / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise FetchError(
            f"Maven could not fetch Kafka {KAFKA_VERSION} (exit {result.returncode}); "
            f"command: {' '.join(command)}\n{tail}"
        )

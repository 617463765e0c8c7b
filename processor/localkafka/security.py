"""A SASL_SSL (SCRAM-SHA-512) listener for the local broker: TLS material, properties, users.

    tls = ensure_tls_material(data_dir)              # keytool: CA, server keystore, truststore
    sec = sasl_ssl(tls, port, [ScramUser("svc", password)])
    LocalKafka(..., extra_listeners=[sec.listener], extra_properties=sec.properties,
               extra_format_args=sec.format_args)
    # clients: security_protocol=SASL_SSL, sasl_mechanism=SCRAM-SHA-512, cafile=tls.ca_pem

The inter-broker and controller listeners stay PLAINTEXT (single node, 127.0.0.1 only); only the
extra client listener is secured. SCRAM users are created when the data dir is formatted
(``StorageTool format --add-scram``), so they exist before the broker accepts a connection; those
arguments reach the JVM through an owner-only ``@argfile``, never its command line.

Secrets (the store password, SCRAM passwords) are kept out of every ``repr`` and message here;
keytool gets the store password through its environment (``-storepass:env``), never argv. Files
holding a secret are 0600 (the stores, ``store.password``, the broker's ``server.properties``)
in a 0700 ``tls`` directory.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .commands import write_private
from .errors import LocalKafkaError, ToolMissingError
from .props import Listener
from .settings import HOST

__all__ = [
    "SCRAM_MECHANISM",
    "SaslSslConfig",
    "ScramUser",
    "TlsMaterial",
    "ensure_tls_material",
    "sasl_ssl",
]

SCRAM_MECHANISM = "SCRAM-SHA-512"
LISTENER_NAME = "SASL_SSL"
TLS_DIR = "tls"
SAN = "IP:127.0.0.1,DNS:localhost"
_STOREPASS_ENV = "SLA_LOCALKAFKA_STOREPASS"  # set only in keytool's own environment
_FAST_JVM = ["-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC", "-J-Xmx64m"]  # short runs
_SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
# StorageTool splits "[name=..,password=..]" on commas and strips quotes; keep both values plain.
_NAME_RE = re.compile(r"[A-Za-z0-9._@-]{1,128}")
_PASSWORD_FORBIDDEN = set(',"[]=\\')


class SecurityError(LocalKafkaError):
    """TLS material could not be made, or a SCRAM user cannot be passed to the broker."""


@dataclass(frozen=True)
class TlsMaterial:
    """PKCS12 stores for the broker and PEM files for Python clients, in ``<data dir>/tls``."""

    directory: Path
    store_password: str = field(repr=False)

    @property
    def ca_store(self) -> Path:
        return self.directory / "ca.p12"

    @property
    def keystore(self) -> Path:
        return self.directory / "broker.keystore.p12"

    @property
    def truststore(self) -> Path:
        return self.directory / "truststore.p12"

    @property
    def ca_pem(self) -> Path:
        """The CA certificate: what clients pass as ``cafile`` (``SLA_SSL_CAFILE``)."""
        return self.directory / "ca.pem"

    @property
    def server_pem(self) -> Path:
        return self.directory / "broker.pem"

    @property
    def password_file(self) -> Path:
        return self.directory / "store.password"

    def complete(self) -> bool:
        files = (self.ca_store, self.keystore, self.truststore, self.ca_pem, self.server_pem)
        return all(path.is_file() and path.stat().st_size > 0 for path in files)


@dataclass(frozen=True)
class ScramUser:
    """A SCRAM user created at format time; the password never shows in ``repr``."""

    name: str
    password: str = field(repr=False)
    mechanism: str = SCRAM_MECHANISM

    def __post_init__(self) -> None:
        if not _NAME_RE.fullmatch(self.name):
            raise ValueError(f"SCRAM user name {self.name!r} must be 1-128 of A-Z a-z 0-9 . _ @ -")
        bad = not self.password or any(
            ch in _PASSWORD_FORBIDDEN or not ch.isprintable() or ch.isspace()
            for ch in self.password
        )
        if bad:  # the message names the rule, never the value
            raise ValueError(
                f"the SCRAM password of {self.name!r} must be non-empty printable text without "
                'spaces or any of , " [ ] = \\'
            )

    def format_args(self) -> list[str]:
        """``StorageTool format`` arguments that create this user (they contain the password)."""
        return ["--add-scram", f"{self.mechanism}=[name={self.name},password={self.password}]"]


@dataclass(frozen=True)
class SaslSslConfig:
    """What :class:`~processor.localkafka.LocalKafka` needs for one SASL_SSL listener."""

    listener: Listener
    properties: dict[str, str] = field(repr=False)  # holds the store password
    format_args: tuple[str, ...] = field(repr=False)  # holds the SCRAM passwords
    tls: TlsMaterial
    users: tuple[str, ...] = ()

    @property
    def bootstrap(self) -> str:
        return f"{self.listener.host}:{self.listener.port}"

    @property
    def cafile(self) -> Path:
        return self.tls.ca_pem


def keytool_executable() -> str:
    """``keytool`` next to ``$JAVA_HOME/bin/java``, else from ``PATH``."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "keytool").is_file():
        return str(Path(home) / "bin" / "keytool")
    found = shutil.which("keytool")
    if found:
        return found
    java = shutil.which("java")
    if java and (Path(java).resolve().parent / "keytool").is_file():
        return str(Path(java).resolve().parent / "keytool")
    raise ToolMissingError(
        "keytool not found (it ships with the JDK/JRE): install openjdk-17-jre-headless "
        "or set JAVA_HOME"
    )


def ensure_tls_material(
    data_dir: str | os.PathLike[str], *, validity_days: int = 825
) -> TlsMaterial:
    """Make (once per data dir) a CA, a broker key signed by it and a truststore, with keytool.

    The broker certificate has ``SAN=IP:127.0.0.1,DNS:localhost``; ``ca.pem`` verifies it.
    Existing complete material is reused, so clients keep trusting a restarted broker.
    """
    directory = Path(data_dir).expanduser().resolve() / TLS_DIR
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)  # the stores and their password file live here
    existing = _read_password(directory / "store.password")
    if existing is not None:
        material = TlsMaterial(directory, existing)
        if material.complete():
            return material
    material = TlsMaterial(directory, secrets.token_urlsafe(24))
    for path in (
        material.ca_store,
        material.keystore,
        material.truststore,
        material.ca_pem,
        material.server_pem,
    ):
        path.unlink(missing_ok=True)
    write_private(material.password_file, material.store_password + "\n")
    _generate(material, keytool_executable(), validity_days)
    return material


def _read_password(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


def _generate(tls: TlsMaterial, keytool: str, days: int) -> None:
    csr = tls.directory / "broker.csr"
    signed = tls.directory / "broker-signed.pem"
    store = ["-storetype", "PKCS12", "-storepass:env", _STOREPASS_ENV]
    key = ["-keyalg", "EC", "-groupname", "secp256r1", "-validity", str(days)]
    ca = ["-keystore", str(tls.ca_store), *store]
    broker = ["-keystore", str(tls.keystore), *store]
    truststore = ["-keystore", str(tls.truststore), *store]
    ca_ext = ["-ext", "bc:c", "-ext", "KU=keyCertSign,cRLSign"]
    broker_ext = ["-ext", f"SAN={SAN}", "-ext", "EKU=serverAuth"]
    broker_ext += ["-ext", "KU=digitalSignature"]
    steps = [
        # 1. the CA (self-signed, basicConstraints CA:true), exported as PEM for clients
        ["-genkeypair", "-alias", "ca", "-dname", "CN=sla-localkafka CA", *key, *ca_ext, *ca],
        ["-exportcert", "-rfc", "-alias", "ca", "-file", str(tls.ca_pem), *ca],
        # 2. the broker key and its CSR, signed by the CA with the SAN clients check
        ["-genkeypair", "-alias", "broker", "-dname", "CN=localhost", *key, *broker_ext, *broker],
        ["-certreq", "-alias", "broker", "-file", str(csr), *broker],
        [
            *("-gencert", "-rfc", "-alias", "ca", "-infile", str(csr), "-outfile", str(signed)),
            *("-validity", str(days), *broker_ext, *ca),
        ],
        # 3. chain: the CA first, then the signed reply replaces the self-signed broker cert
        ["-importcert", "-noprompt", "-alias", "ca", "-file", str(tls.ca_pem), *broker],
        ["-importcert", "-noprompt", "-alias", "broker", "-file", str(signed), *broker],
        ["-exportcert", "-rfc", "-alias", "broker", "-file", str(tls.server_pem), *broker],
        # 4. a truststore with the CA (for Java clients, and inter-broker TLS if ever used)
        ["-importcert", "-noprompt", "-alias", "ca", "-file", str(tls.ca_pem), *truststore],
    ]
    env = {**os.environ, _STOREPASS_ENV: tls.store_password}
    try:
        for step in steps:
            result = subprocess.run(
                [keytool, *_FAST_JVM, *step],
                capture_output=True,
                text=True,
                env=env,
                check=False,
                timeout=60,
            )
            if result.returncode != 0:
                output = (result.stdout + result.stderr).replace(tls.store_password, "***")
                raise SecurityError(
                    f"keytool {step[0]} failed (exit {result.returncode}) in {tls.directory}: "
                    f"{output.strip()}"
                )
    except subprocess.TimeoutExpired:
        raise SecurityError(f"keytool did not finish within 60 s in {tls.directory}") from None
    finally:
        csr.unlink(missing_ok=True)
        signed.unlink(missing_ok=True)
    for path in tls.directory.iterdir():
        if path.suffix == ".p12":
            path.chmod(0o600)


def sasl_ssl(
    tls: TlsMaterial,
    port: int,
    users: Sequence[ScramUser],
    *,
    name: str = LISTENER_NAME,
    host: str = HOST,
) -> SaslSslConfig:
    """The extra listener, its broker properties and the format args that create ``users``."""
    prefix = f"listener.name.{name.lower()}"
    properties = {
        "sasl.enabled.mechanisms": SCRAM_MECHANISM,
        f"{prefix}.sasl.enabled.mechanisms": SCRAM_MECHANISM,
        f"{prefix}.{SCRAM_MECHANISM.lower()}.sasl.jaas.config": _SCRAM_LOGIN,
        f"{prefix}.ssl.keystore.type": "PKCS12",
        f"{prefix}.ssl.keystore.location": str(tls.keystore),
        f"{prefix}.ssl.keystore.password": tls.store_password,
        f"{prefix}.ssl.key.password": tls.store_password,
        f"{prefix}.ssl.truststore.type": "PKCS12",
        f"{prefix}.ssl.truststore.location": str(tls.truststore),
        f"{prefix}.ssl.truststore.password": tls.store_password,
        f"{prefix}.ssl.client.auth": "none",
        f"{prefix}.ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
    }
    format_args: list[str] = []
    for user in users:
        format_args += user.format_args()
    return SaslSslConfig(
        Listener(name, port, protocol="SASL_SSL", host=host),
        properties,
        tuple(format_args),
        tls,
        tuple(user.name for user in users),
    )

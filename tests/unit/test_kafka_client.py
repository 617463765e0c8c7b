"""`processor.kafka.client`: one builder gives the aiokafka arguments and the worker's faust
credentials from the same settings (TLS context, SASL user), and nothing else builds them."""

from __future__ import annotations

import re
import ssl
import subprocess
from pathlib import Path

import faust
import pytest

from processor.kafka.client import client_kwargs, faust_credentials
from processor.settings import Settings, kafka_client_kwargs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cafile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed CA (openssl), so the tests can see that this CA is the one trusted."""
    folder = tmp_path_factory.mktemp("ca")
    pem = folder / "ca.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=sla-test-ca", "-keyout", str(folder / "ca.key"), "-out", str(pem)),
        ],
        check=True,
        capture_output=True,
    )
    return pem


def _trusted(context: object) -> list[str]:
    assert isinstance(context, ssl.SSLContext)
    return [
        value
        for cert in context.get_ca_certs()
        for rdn in cert["subject"]
        for key, value in rdn
        if key == "commonName"
    ]


def test_plaintext_is_bootstrap_and_protocol_only_and_no_faust_credentials() -> None:
    settings = Settings(bootstrap_servers="h1:9092,h2:9092")
    assert client_kwargs(settings) == {
        "bootstrap_servers": "h1:9092,h2:9092",
        "security_protocol": "PLAINTEXT",
    }
    assert faust_credentials(settings) is None


def test_ssl_trusts_the_configured_ca_in_both_forms(cafile: Path) -> None:
    settings = Settings(security_protocol="SSL", ssl_cafile=cafile)
    kwargs = client_kwargs(settings)
    assert set(kwargs) == {"bootstrap_servers", "security_protocol", "ssl_context"}
    assert _trusted(kwargs["ssl_context"]) == ["sla-test-ca"]
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SSLCredentials)
    assert _trusted(credentials.context) == ["sla-test-ca"]


def test_sasl_ssl_gives_the_same_user_mechanism_and_ca_to_aiokafka_and_faust(
    cafile: Path,
) -> None:
    settings = Settings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="svc",
        sasl_password="s3cret",
        ssl_cafile=cafile,
    )
    kwargs = client_kwargs(settings)
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-256"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("svc", "s3cret")
    assert _trusted(kwargs["ssl_context"]) == ["sla-test-ca"]
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password) == ("svc", "s3cret")
    assert credentials.mechanism.value == "SCRAM-SHA-256"
    assert _trusted(credentials.ssl_context) == ["sla-test-ca"]


def test_sasl_plaintext_has_no_tls_context() -> None:
    settings = Settings(security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="p")
    assert "ssl_context" not in client_kwargs(settings)
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.ssl_context is None


def test_the_old_name_in_settings_is_the_same_builder() -> None:
    settings = Settings(security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="p")
    assert kafka_client_kwargs(settings) == client_kwargs(settings)


def test_no_other_module_builds_kafka_security_settings() -> None:
    """TLS contexts and SASL arguments for Kafka are made in processor/kafka/client.py only."""
    pattern = re.compile(
        r"sasl_plain_password|SASLCredentials|SSLCredentials|create_default_context"
    )
    allowed = {Path("processor/kafka/client.py"), Path("processor/settings.py")}  # CA file check
    offenders = [
        path.relative_to(ROOT)
        for path in (ROOT / "processor").rglob("*.py")
        if "localkafka" not in path.parts  # the local broker's own test listener
        and path.relative_to(ROOT) not in allowed
        and pattern.search(path.read_text("utf-8"))
    ]
    assert offenders == []

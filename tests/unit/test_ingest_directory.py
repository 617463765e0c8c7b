"""Customer directory: YAML and CSV give the same customers; a change is picked up; a bad file
names the row and, on reload, keeps the last good directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from processor.ingest.directory import CustomerDirectory, DirectoryError, load_customers
from processor.ingest.timefmt import BadInstant, from_epoch_ms, to_rfc3339
from processor.settings import IngestSettings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_yaml_and_csv_examples_agree() -> None:
    assert load_customers(EXAMPLES / "customers.yaml") == load_customers(EXAMPLES / "customers.csv")


def test_reload_on_change_and_keep_last_good(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,tier,timezone,country\nzendesk:org:1,gold,Europe/Paris,FR\n")
    ticks = [0.0]
    directory = CustomerDirectory(path, check_every=1.0, clock=lambda: ticks[0])
    assert directory.lookup(["zendesk:org:1"])[1].tier == "gold"  # type: ignore[index]
    path.write_text("id,tier,timezone,country\nzendesk:org:1,silver,Europe/Paris,FR\n")
    os.utime(path, ns=(1, 10**18))
    ticks[0] = 0.5  # not checked again yet
    assert directory.lookup(["zendesk:org:1"])[1].tier == "gold"  # type: ignore[index]
    ticks[0] = 2.0
    assert directory.lookup(["zendesk:org:1"])[1].tier == "silver"  # type: ignore[index]
    path.write_text("id,tier\nzendesk:org:1,platinum\n")
    os.utime(path, ns=(1, 2 * 10**18))
    ticks[0] = 4.0
    assert directory.lookup(["zendesk:org:1"])[1].tier == "silver"  # type: ignore[index]
    assert directory.reloads == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("customers:\n  - {id: a, tier: platinum}\n", "customer 1: tier"),
        ("customers:\n  - {id: a, tier: gold, timezone: Mars/Base}\n", "customer 1: timezone"),
        ("customers:\n  - {id: a, tier: gold, country: fr}\n", "customer 1: country"),
        ("nothing: here\n", "customers:"),
    ],
)
def test_bad_directory_names_the_row(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(DirectoryError, match=message):
        load_customers(path)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2024-05-22T17:43:13.584+0000", "2024-05-22T17:43:13.584000Z"),
        ("2024-05-22T17:43:13+0200", "2024-05-22T15:43:13Z"),
        ("2025-01-08T14:25:30.123456789Z", "2025-01-08T14:25:30.123456Z"),
        ("2025-01-08T14:25:30Z", "2025-01-08T14:25:30Z"),
    ],
)
def test_vendor_timestamps_become_rfc3339_utc(given: str, expected: str) -> None:
    assert to_rfc3339(given) == expected


@pytest.mark.parametrize("bad", ["2024-05-22T17:43:13", "2024-13-01T00:00:00Z", "", 5, None])
def test_bad_vendor_timestamps(bad: object) -> None:
    with pytest.raises(BadInstant):
        to_rfc3339(bad)


def test_epoch_ms() -> None:
    assert from_epoch_ms(1736341200000) == "2025-01-08T13:00:00Z"
    with pytest.raises(BadInstant):
        from_epoch_ms(True)


def test_ingest_settings_defaults_and_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLA_ZENDESK_SIGNING_SECRET", "zd-secret-value")
    monkeypatch.setenv("SLA_EVENTS_TOKEN", "")
    settings = IngestSettings()
    assert settings.ingest_host == "127.0.0.1"
    assert settings.events_token is None  # an empty token leaves /events off
    assert "zd-secret-value" not in repr(settings)

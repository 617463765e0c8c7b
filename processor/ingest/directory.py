"""The customer directory: tier, time zone and country by customer key, from YAML or CSV.

Keys are what the adapters look up, most specific first: `zendesk:org:<organization id>`,
`zendesk:user:<requester id>`, `jira:org:<organization id>`, `jira:user:<account id>`. The file is
re-read when its modification time or size changes (checked at most once per `check_every`
seconds); a file that turns bad keeps the last good directory and the error is reported once.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from processor.domain.constants import Tier
from processor.domain.events import Country, ZoneName

__all__ = ["Customer", "CustomerDirectory", "DirectoryError", "load_customers"]

log = logging.getLogger(__name__)


class DirectoryError(ValueError):
    """The directory file cannot be read or has a bad row (message names the row)."""


class Customer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Annotated[str, Field(min_length=1, max_length=128)]
    tier: Tier
    timezone: ZoneName = "UTC"
    country: Country | None = None
    name: str | None = None


def _rows(path: Path) -> Iterable[dict[str, object]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        return [
            {k.strip(): (v.strip() or None) for k, v in row.items() if k}
            for row in csv.DictReader(io.StringIO(text))
        ]
    data = yaml.safe_load(text) or {}
    rows = data.get("customers") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise DirectoryError(f"{path}: expected a top-level 'customers:' list")
    return [r if isinstance(r, dict) else {"id": None} for r in rows]


def load_customers(path: Path) -> dict[str, Customer]:
    """All customers of the file by id; `DirectoryError` names the first bad row."""
    try:
        rows = _rows(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, csv.Error) as exc:
        raise DirectoryError(f"{path}: cannot read ({exc})") from None
    found: dict[str, Customer] = {}
    for number, row in enumerate(rows, start=1):
        if isinstance(row.get("id"), int):
            row = {**row, "id": str(row["id"])}
        try:
            customer = Customer.model_validate(row)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise DirectoryError(f"{path}: customer {number}: {where}: {first['msg']}") from None
        found[customer.id] = customer
    return found


@dataclass(frozen=True)
class _Stamp:
    mtime_ns: int
    size: int


class CustomerDirectory:
    """Lookups against the directory file, reloaded when it changes."""

    def __init__(
        self,
        path: Path | None,
        check_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path, self.check_every, self._clock = path, check_every, clock
        self._customers: dict[str, Customer] = {}
        self._stamp: _Stamp | None = None
        self._checked = float("-inf")
        self.reloads = 0
        if path is not None:
            self._customers = load_customers(path)  # a bad file at start-up is fatal
            self._stamp = self._stat()

    def lookup(self, keys: Iterable[str]) -> tuple[str, Customer] | None:
        """The first key of `keys` the directory knows, with its customer."""
        self._maybe_reload()
        for key in keys:
            customer = self._customers.get(key)
            if customer is not None:
                return key, customer
        return None

    def __len__(self) -> int:
        return len(self._customers)

    def _stat(self) -> _Stamp | None:
        assert self.path is not None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return _Stamp(st.st_mtime_ns, st.st_size)

    def _maybe_reload(self) -> None:
        now = self._clock()
        if self.path is None or now - self._checked < self.check_every:
            return
        self._checked = now
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._customers = load_customers(self.path)
        except DirectoryError as exc:
            log.error("customer directory not reloaded, keeping the previous one: %s", exc)
            return
        self.reloads += 1
        log.info("customer directory reloaded: %d customers", len(self._customers))

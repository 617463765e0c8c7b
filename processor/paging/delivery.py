"""HTTP delivery shared by the targets: classify answers, retry with backoff and jitter.

202/200 is accepted. 429, 5xx, timeouts and network errors are retried without limit (a target
that is down delays pages, never loses them), waiting at least what `Retry-After` asks. Any other
answer is `Fatal`: the forwarder stops with one line and commits nothing past the failed alert.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from processor.paging.metrics import PagingMetrics

__all__ = ["Backoff", "Fatal", "HttpAnswer", "Retryable", "Sender"]

log = logging.getLogger("processor.paging")


class Fatal(Exception):
    """An answer retrying cannot fix (one line, ready to show)."""


class Retryable(Exception):
    def __init__(self, reason: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.reason, self.retry_after = reason, retry_after


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    body: str
    retry_after: float | None


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits uniform(c / 2, c),
    c = min(cap, base * 2**n), and never less than the target's Retry-After."""

    base: float
    cap: float
    rng: random.Random

    def delay(self, attempt: int, retry_after: float | None) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 30))
        return max(self.rng.uniform(ceiling / 2, ceiling), retry_after or 0.0)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date (RFC 9110); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Sender:
    """POSTs JSON to one target, retrying until it is accepted or answers something fatal."""

    def __init__(
        self,
        target: str,
        session: aiohttp.ClientSession,
        backoff: Backoff,
        metrics: PagingMetrics,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.target, self.session, self.backoff = target, session, backoff
        self.metrics, self.sleep = metrics, sleep
        self.recovered = False  # set after a success that followed failures

    async def post(self, url: str, body: object, accept: tuple[int, ...]) -> HttpAnswer:
        attempt = 0
        while True:
            try:
                answer = await self._post_once(url, body)
                if answer.status in accept:
                    if attempt:
                        self.recovered = True
                    return answer
                raise _classify(self.target, answer)
            except Retryable as exc:
                self.metrics.retried.labels(self.target, exc.reason).inc()
                wait = self.backoff.delay(attempt, exc.retry_after)
                log.warning("%s: %s; retry %d in %.1fs", self.target, exc, attempt + 1, wait)
                attempt += 1
                await self.sleep(wait)

    async def _post_once(self, url: str, body: object) -> HttpAnswer:
        try:
            async with self.session.post(url, json=body) as response:
                text = await response.text()
                after = retry_after_seconds(response.headers.get("Retry-After"), datetime.now(UTC))
                return HttpAnswer(response.status, text, after)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise Retryable("network", f"{type(exc).__name__}: {exc or 'no answer'}") from None


def _classify(target: str, answer: HttpAnswer) -> Exception:
    detail = f"HTTP {answer.status} {answer.body.strip()[:300]}"
    if answer.status == 429:
        return Retryable("rate_limited", detail, answer.retry_after)
    if answer.status >= 500:
        return Retryable("server_error", detail, answer.retry_after)
    return Fatal(f"{target} refused the request: {' '.join(detail.split())}")

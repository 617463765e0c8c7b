"""What the commands that read a JSON-lines log share: opening it, reading its lines (a read
error becomes one line on stderr), and loading the policy (its warnings on stderr)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO

import click

from processor.commands.errors import describe_os_error
from processor.domain.policy import Policy, PolicyError, load_policy

__all__ = ["Input", "load_policy_or_exit", "open_input"]


def open_input(source: str) -> IO[bytes]:
    """`source` (a path, or - for standard input) opened for reading bytes."""
    try:
        return click.open_file(source, "rb")
    except OSError as exc:
        raise click.ClickException(describe_os_error(exc, "cannot read the input")) from None


class Input:
    """The input's lines: counts the non-blank ones, and a read error becomes one line."""

    def __init__(self, source: Iterable[bytes], name: str) -> None:
        self.source, self.name, self.nonblank = iter(source), name, 0

    def __iter__(self) -> Input:
        return self

    def __next__(self) -> bytes:
        try:
            line = next(self.source)
        except OSError as exc:
            raise click.ClickException(describe_os_error(exc, f"cannot read {self.name}")) from None
        if not line.isspace():
            self.nonblank += 1
        return line


def load_policy_or_exit(path: Path | None, command: str) -> Policy:
    """The policy at `path` (None: the shipped one); its warnings go to stderr prefixed with
    `command`; an invalid policy exits with its problems."""
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    for warning in policy.warnings:
        click.echo(f"{command}: warning: {warning}", err=True)
    return policy

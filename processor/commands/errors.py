"""I/O errors as one line: the `sla-processor` group turns an `OSError` that escapes any command
(an unreadable input, a full disk, a closed pipe) into `Error: <what>` on stderr and exit 1."""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

import click

__all__ = ["IoErrorsGroup", "describe_os_error"]


def describe_os_error(exc: OSError, doing: str | None = None) -> str:
    """One line for an OSError: `doing: file: reason` (the parts that are known)."""
    if exc.errno == errno.EPIPE:
        reason = "the reader closed the pipe (Broken pipe)"
    else:
        reason = exc.strerror or str(exc) or type(exc).__name__
    parts = [doing, str(exc.filename) if exc.filename is not None else None, reason]
    return ": ".join(p for p in parts if p).replace("\n", " ")


def _flush_stdout() -> OSError | None:
    """Flush standard output; if it cannot be written, point it at /dev/null (so Python's own
    flush at exit does not print a second, multi-line error) and return the error."""
    try:
        sys.stdout.flush()
        return None
    except OSError as exc:
        try:
            fd = sys.stdout.fileno()
        except (OSError, ValueError, AttributeError):
            return exc  # not a real file (click's test runner): nothing is flushed at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
        return exc


class IoErrorsGroup(click.Group):
    """A click group whose commands end with one line on stderr for any I/O error."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except OSError as exc:
            output = _flush_stdout()
            doing = "cannot write the output" if output is not None else None
            raise click.ClickException(describe_os_error(exc, doing)) from None
        except BaseException:
            _flush_stdout()
            raise
        output = _flush_stdout()
        if output is not None:
            raise click.ClickException(describe_os_error(output, "cannot write the output"))
        return result

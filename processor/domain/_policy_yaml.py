"""Reading policy YAML, and turning validation errors into lines a support-ops engineer can act on.

The loader is PyYAML's safe loader with three surprises removed: dates stay strings (holidays are
validated as `YYYY-MM-DD` by the policy model, with a readable error instead of a YAML crash),
`2:00` is a string rather than the sexagesimal integer 120, and a key repeated in one mapping is
an error instead of silently keeping the last value. It is bounded: a document is at most
`MAX_POLICY_BYTES`, and anchors and aliases (`&name`, `*name`) are refused, so a small file cannot
expand into a huge value (an "alias bomb"). Messages quote at most a short prefix of a value.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from processor.domain.quoting import quote, shorten

__all__ = ["MAX_POLICY_BYTES", "describe_errors", "describe_yaml_error", "parse_yaml"]

MAX_POLICY_BYTES = 64 * 1024
"""Largest policy document accepted, in UTF-8 bytes (the shipped one is under 2 KiB)."""

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_MAX_INT_CHARS = 100
# PyYAML's YAML 1.1 int and float patterns without the base-60 forms.
_INT_RE = re.compile(
    r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
)
_FLOAT_RE = re.compile(
    r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class _PolicyLoader(yaml.SafeLoader):
    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None,
                None,
                "anchors and aliases (&name, *name) are not allowed in a policy file; "
                "write each value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


_PolicyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_TIMESTAMP, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PolicyLoader.add_implicit_resolver(_INT, _INT_RE, list("-+0123456789"))
_PolicyLoader.add_implicit_resolver(_FLOAT, _FLOAT_RE, list("-+0123456789."))


def _unique_mapping(loader: _PolicyLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Hashable, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, f"a key cannot be a {type(key).__name__}", key_node.start_mark
            )
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {quote(key)}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node)
    return mapping


def _bounded_int(loader: _PolicyLoader, node: yaml.ScalarNode) -> int:
    # Python will not convert an integer of over 4300 digits: a ValueError, not a YAML error.
    if len(node.value) > _MAX_INT_CHARS:
        raise yaml.constructor.ConstructorError(
            None, None, f"the number {quote(node.value)} is too long", node.start_mark
        )
    value: int = loader.construct_yaml_int(node)
    return value


_PolicyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)
_PolicyLoader.add_constructor(_INT, _bounded_int)


def parse_yaml(text: str) -> object:
    """The document in `text`; raises `yaml.YAMLError` (with a line and column) when malformed or
    using anchors or aliases. The caller bounds the size (`MAX_POLICY_BYTES`)."""
    return yaml.load(text, Loader=_PolicyLoader)  # a SafeLoader subclass: builds plain data only


def describe_yaml_error(error: yaml.YAMLError) -> str:
    """One line: what is wrong and where, e.g.
    `while parsing a flow node: expected the node content, but found '<stream end>' (line 2,
    column 1)`."""
    if not isinstance(error, yaml.MarkedYAMLError):
        return shorten(str(error), 200)
    what = ": ".join(shorten(part, 200) for part in (error.context, error.problem) if part)
    mark = error.problem_mark or error.context_mark
    return f"{what} (line {mark.line + 1}, column {mark.column + 1})" if mark else what


def describe_errors(error: ValidationError) -> list[str]:
    """One `where: what` line per problem, e.g.
    `tiers.basic.targets: priority 5 is not one of 1-4`."""
    lines = []
    for detail in error.errors(include_url=False):
        parts = [str(part) for part in detail["loc"] if not str(part).startswith("<")]
        where = ".".join(shorten(part) for part in parts)
        what = _describe(detail)
        lines.append(f"{where}: {what}" if where else what)
    return lines


def _describe(detail: ErrorDetails) -> str:
    kind, message = detail["type"], detail["msg"]
    if kind == "missing":
        return "required, but missing"
    if kind == "extra_forbidden":
        return "unknown key (check its spelling and indentation)"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind == "literal_error":
        return f"must be {message.removeprefix('Input should be ')}, got {quote(detail['input'])}"
    return f"{message[:1].lower()}{message[1:]}, got {quote(detail['input'])}"

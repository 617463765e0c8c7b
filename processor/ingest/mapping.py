"""The mapping table: vendor priorities and statuses to ours (YAML, case-insensitive keys).

The shipped default is `default_mapping.yaml` next to this module; `SLA_INGEST_CONFIG` names
another file of the same shape (see examples/ingest.yaml).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from processor.domain.constants import Status

__all__ = ["Mapping", "MappingFileError", "VendorTable", "load_mapping"]

Priority = Annotated[int, Field(ge=1, le=4)]
_DEFAULT = Path(__file__).with_name("default_mapping.yaml")


class MappingFileError(ValueError):
    """The mapping file cannot be read or does not have the expected shape."""


def _lower_keys(value: object) -> object:
    if isinstance(value, dict):
        return {str(k).strip().lower(): v for k, v in value.items()}
    return value


class VendorTable(BaseModel):
    """One helpdesk's table. Keys are matched case-insensitively (`"Open"` = `open`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    priorities: dict[str, Priority]
    statuses: dict[str, Status]
    default_priority: Priority = 3

    @field_validator("priorities", "statuses", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return _lower_keys(value)

    def priority(self, name: str | None) -> int | None:
        """Our priority for a vendor name; the default for none; None when unknown."""
        if name is None or name == "":
            return self.default_priority
        return self.priorities.get(name.strip().lower())

    def status(self, name: str) -> str | None:
        return self.statuses.get(name.strip().lower())


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    zendesk: VendorTable
    jira: VendorTable
    jira_organization_field: str = Field(
        "customfield_10002", description="Jira's Organizations field (JSM) on the issue."
    )


def load_mapping(path: Path | None = None) -> Mapping:
    """Read and validate the table; `MappingFileError` has a one-line reason."""
    target = path or _DEFAULT
    try:
        data = yaml.safe_load(target.read_text(encoding="utf-8"))
        return Mapping.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise MappingFileError(f"{target}: cannot read ({exc})") from None
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MappingFileError(f"{target}: {where}: {first['msg']}") from None

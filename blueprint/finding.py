"""The one record every check produces and every formatter renders."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Source(str, enum.Enum):
    LOADER = "loader"
    SCHEMA = "schema"
    GUARD = "cfn-guard"
    LINT = "cfn-lint"
    WAIVER = "waiver"


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file; line and column are 1-based, 0 when unknown."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column or 1}"
        return self.file


@dataclass(frozen=True)
class Finding:
    source: Source
    rule_id: str
    severity: Severity
    location: Location
    message: str
    hint: str | None = None
    # Where a finding on a rendered template came from: the template location
    # (``location`` then names the blueprint line that produced it).
    rendered_location: Location | None = None
    # The blueprint field that produced the finding, e.g. ``cluster.instanceType``.
    blueprint_path: str | None = None
    waived_by: str | None = field(default=None, compare=False)
    # What the finding is about in the (rendered) template: the logical id of the
    # resource, and the property path inside it, written as in the CloudFormation
    # docs (``Properties.SecurityGroupIngress[0].CidrIp``). Outside Resources there
    # is no resource and the path starts at the template's root
    # (``Outputs.Url.Value``). Both None when no template node is known.
    resource: str | None = None
    property_path: str | None = None

    @property
    def file(self) -> str:
        return self.location.file

    @property
    def line(self) -> int:
        return self.location.line

    @property
    def column(self) -> int:
        return self.location.column

    @property
    def subject(self) -> str | None:
        """``Resource.Property.Path`` (or the path alone outside Resources), when known."""
        if self.resource is None:
            return self.property_path
        return f"{self.resource}.{self.property_path}" if self.property_path else self.resource

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.column, self.rule_id, self.message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value, "rule_id": self.rule_id,
            "severity": self.severity.value, "location": _location_dict(self.location),
            "message": self.message, "hint": self.hint,
            "rendered_location": _location_dict(self.rendered_location),
            "blueprint_path": self.blueprint_path, "waived_by": self.waived_by,
            "resource": self.resource, "property_path": self.property_path,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """The inverse of ``to_dict``; raises KeyError/ValueError/TypeError on bad data.

        An entry without ``resource`` and ``property_path`` was written before
        findings named their subject, and located them by older rules: it raises
        KeyError too, so the result cache treats it as a miss and checks again.
        """
        location = _location_from(data["location"])
        if location is None:
            raise ValueError("a finding needs a location")
        return cls(Source(data["source"]), str(data["rule_id"]), Severity(data["severity"]),
                   location, str(data["message"]), _optional_str(data.get("hint")),
                   _location_from(data.get("rendered_location")),
                   _optional_str(data.get("blueprint_path")),
                   _optional_str(data.get("waived_by")),
                   _optional_str(data["resource"]),
                   _optional_str(data["property_path"]))


def _location_dict(location: Location | None) -> list[Any] | None:
    return None if location is None else [location.file, location.line, location.column]


def _location_from(data: Any) -> Location | None:
    if data is None:
        return None
    file, line, column = data
    return Location(str(file), int(line), int(column))


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class RuleInfo:
    """What a rule is, for formats that describe rules (SARIF, JUnit)."""

    rule_id: str
    source: Source
    title: str
    help: str = ""
    mandatory: bool = False


@dataclass(frozen=True)
class Report:
    """Everything one ``validate`` run found, waived findings included."""

    files: tuple[str, ...]
    findings: tuple[Finding, ...]
    rules: tuple[RuleInfo, ...] = ()

    @property
    def active(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.waived_by is None)

    @property
    def waived(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.waived_by is not None)

    def failing(self, fail_on: Severity = Severity.ERROR) -> tuple[Finding, ...]:
        return tuple(f for f in self.active if f.severity.rank >= fail_on.rank)

    def exit_code(self, fail_on: Severity = Severity.ERROR) -> int:
        return 1 if self.failing(fail_on) else 0

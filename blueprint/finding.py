"""The one record every check produces and every formatter renders."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


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

    @property
    def file(self) -> str:
        return self.location.file

    @property
    def line(self) -> int:
        return self.location.line

    @property
    def column(self) -> int:
        return self.location.column

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.column, self.rule_id, self.message)


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

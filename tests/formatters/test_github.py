"""GitHub workflow commands: one annotation per finding, escaped per the runner's rules."""

from __future__ import annotations

import re

import pytest
from sample_report import sample_report

from blueprint.finding import Finding, Location, Report, Severity, Source
from blueprint.formatters import github

COMMAND = re.compile(r"^::(error|warning|notice) ((?:[a-z]+=[^,:]*)(?:,[a-z]+=[^,:]*)*)::(.*)$")


def unescape_data(value: str) -> str:
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(value: str) -> str:
    return unescape_data(value.replace("%3A", ":").replace("%2C", ","))


def parse(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match, line
    props = dict(item.split("=", 1) for item in match.group(2).split(","))
    return match.group(1), {k: unescape_property(v) for k, v in props.items()}, \
        unescape_data(match.group(3))


def test_one_command_per_finding_then_the_summary() -> None:
    lines = github.render(sample_report()).splitlines()
    assert len(lines) == 6
    assert [parse(line)[0] for line in lines[:5]] == [
        "error", "warning", "error", "notice", "error"]
    assert lines[-1] == "4 files checked: 3 errors, 1 warning, 1 waived"


def test_error_annotation_properties_and_message() -> None:
    lines = github.render(sample_report()).splitlines()
    command, props, message = parse(lines[2])
    assert command == "error"
    assert props == {"file": "blueprints/orders.blueprint.yml", "line": "12", "col": "5",
                     "title": "LAUNCH_TEMPLATE_IMDSV2_REQUIRED"}
    assert message.splitlines() == [
        "HttpTokens must be exactly 'required' (lower case); 'optional', other spellings and "
        "parameters allow or cannot rule out IMDSv1. (rendered cluster.yml)",
        "rendered: cluster.yml:118:13 from cluster.imdsV2",
        "hint: set cluster.imdsV2: required",
    ]


def test_waived_finding_is_a_notice_not_an_error() -> None:
    report = sample_report()
    lines = github.render(report).splitlines()
    waived = [parse(line) for line in lines[:-1] if "(waived)" in line]
    assert len(waived) == 1
    command, props, message = waived[0]
    assert command == "notice"
    assert props["title"] == "ALB_ACCESS_LOGS_ENABLED (waived)"
    assert message.endswith("waived (warning): Access logs go to the central collector via "
                            "Firehose, see OPS-1234 (expires 2027-03-31)")
    error = Finding(Source.GUARD, "R", Severity.ERROR, Location("a.yml", 1, 1), "m",
                    waived_by="ok for now (expires 2030-01-01)")
    assert github.render(Report(("a.yml",), (error,))).startswith("::notice ")


@pytest.mark.parametrize(("severity", "command"), [
    (Severity.ERROR, "error"), (Severity.WARNING, "warning"), (Severity.INFO, "notice")])
def test_severity_to_command(severity: Severity, command: str) -> None:
    finding = Finding(Source.LINT, "X1", severity, Location("a.yml", 2, 3), "m")
    assert github.annotation(finding) == f"::{command} file=a.yml,line=2,col=3,title=X1::m"


def test_line_and_col_only_when_known() -> None:
    assert github.annotation(Finding(Source.LOADER, "BP001", Severity.ERROR,
                                     Location("a.yml"), "m")) == "::error file=a.yml,title=BP001::m"
    assert github.annotation(Finding(Source.LOADER, "BP001", Severity.ERROR,
                                     Location("a.yml", 4), "m")) == (
        "::error file=a.yml,line=4,title=BP001::m")


def test_escaping() -> None:
    assert github.escape_data("100% a\r\nb: c, d") == "100%25 a%0D%0Ab: c, d"
    assert github.escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    finding = Finding(Source.GUARD, "R:1,2", Severity.ERROR,
                      Location("dir,x/a:b.yml", 1, 1), "50% done\n::error::injected")
    line = github.annotation(finding)
    assert "\n" not in line
    _, props, message = parse(line)
    assert props == {"file": "dir,x/a:b.yml", "line": "1", "col": "1", "title": "R:1,2"}
    assert message == "50% done\n::error::injected"


def test_clean_report_is_only_the_summary() -> None:
    assert github.render(Report(("a.yml",), ())) == "1 file checked: no problems\n"

"""The Finding record: what it is about, and how it survives the result cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blueprint.cache import ResultCache
from blueprint.finding import Finding, Location, Report, Severity, Source
from blueprint.formatters import FORMATS, json_format, text

ON_TEMPLATE = Finding(
    Source.GUARD, "PUBLIC_INGRESS_ONLY_ON_LOAD_BALANCER", Severity.ERROR,
    Location("stack.yml", 37, 19), "the bastion admits 0.0.0.0/0",
    hint="admit the load balancer's group", resource="BastionSecurityGroup",
    property_path="Properties.SecurityGroupIngress[0].CidrIp",
)


def test_a_finding_round_trips_with_its_subject() -> None:
    assert Finding.from_dict(json.loads(json.dumps(ON_TEMPLATE.to_dict()))) == ON_TEMPLATE


def test_an_entry_written_before_findings_had_subjects_is_a_cache_miss() -> None:
    old = ON_TEMPLATE.to_dict()
    del old["resource"], old["property_path"]
    with pytest.raises(KeyError):  # the pipeline's cache reads KeyError as a miss
        Finding.from_dict(old)


def test_a_finding_on_no_entry_round_trips() -> None:
    bare = Finding(Source.LOADER, "BP003", Severity.ERROR, Location("a.yml", 3, 1), "dup")
    assert Finding.from_dict(bare.to_dict()) == bare


def test_the_cache_keeps_the_subject(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    key = cache.key("subject", "stack.yml")
    assert cache.put(key, [ON_TEMPLATE.to_dict()])
    [entry] = cache.get(key) or []
    assert Finding.from_dict(entry).subject == \
        "BastionSecurityGroup.Properties.SecurityGroupIngress[0].CidrIp"


def test_subject_joins_resource_and_path() -> None:
    assert ON_TEMPLATE.subject == "BastionSecurityGroup.Properties.SecurityGroupIngress[0].CidrIp"
    bare = Finding(Source.LOADER, "BP003", Severity.ERROR, Location("a.yml", 1, 1), "dup")
    assert bare.subject is None


def test_json_output_carries_resource_and_property_path() -> None:
    document = json.loads(json_format.render(Report(files=("stack.yml",),
                                                    findings=(ON_TEMPLATE,))))
    [finding] = document["findings"]
    assert finding["resource"] == "BastionSecurityGroup"
    assert finding["propertyPath"] == "Properties.SecurityGroupIngress[0].CidrIp"
    assert (finding["line"], finding["column"]) == (37, 19)


def test_every_format_names_the_resource_and_property_path() -> None:
    report = Report(files=("stack.yml",), findings=(ON_TEMPLATE,))
    for name, render in FORMATS.items():
        output = render(report)
        assert "BastionSecurityGroup" in output, name
        assert "SecurityGroupIngress[0].CidrIp" in output, name


def test_text_puts_the_subject_under_the_finding_line() -> None:
    lines = text.render(Report(files=("stack.yml",), findings=(ON_TEMPLATE,))).splitlines()
    assert lines[0].startswith("stack.yml:37:19: error PUBLIC_INGRESS_ONLY_ON_LOAD_BALANCER")
    assert lines[1] == "  resource: BastionSecurityGroup.Properties.SecurityGroupIngress[0].CidrIp"

"""blueprint.loader: bytes and text to plain data with a position for every value and key.

The loader's promises, tested here directly rather than through the CLI:

* the data is plain JSON-like data (no tag constructs an object), read the way
  CloudFormation reads YAML 1.1 scalars, with short-form intrinsics in long form;
* every value and every key has its 1-based line and column, by path;
* every refusal is one located ``Finding`` (BP001..BP006), never an exception,
  also for hostile input (alias bombs, oversize files) and in bounded memory.

The table of malformed files as the CLI reports them is in test_malformed_blueprints.py,
the fuzzing in test_fuzz.py (slow tier).
"""

from __future__ import annotations

import textwrap
import tracemalloc
from pathlib import Path

import pytest

from blueprint.finding import Source
from blueprint.loader import (
    MAX_FILE_BYTES,
    MAX_NODES,
    Document,
    decode,
    load_bytes,
    load_file,
    load_text,
    walk,
)


def load(text: str) -> Document:
    doc, findings = load_text("t.yml", textwrap.dedent(text))
    assert findings == [], findings
    assert doc is not None
    return doc


def refusal(text: str | bytes) -> tuple[str, int, int, str]:
    """(rule, line, column, message) of the one finding a refused input gives."""
    raw = text.encode() if isinstance(text, str) else text
    doc, findings = load_bytes("t.yml", raw)
    assert doc is None
    [finding] = findings
    assert finding.source is Source.LOADER
    return (finding.rule_id, finding.location.line, finding.location.column, finding.message)


# ------------------------------------------------------------------ data


def test_yaml_1_1_scalars_read_as_cloudformation_reads_them() -> None:
    doc = load("""\
        on: yes
        off: No
        hex: 0x1F
        octal: 010
        sexagesimal: 1:30
        underscored: 1_000
        quoted: "010"
        literal: |
          010
        float: 1.5
        nothing: ~
        empty:
        date: 2027-03-31
        """)
    assert doc.data == {
        "on": True, "off": False, "hex": 31, "octal": 8, "sexagesimal": 90,
        "underscored": 1000, "quoted": "010", "literal": "010\n", "float": 1.5,
        "nothing": None, "empty": None, "date": "2027-03-31",
    }


@pytest.mark.parametrize("text", [".nan", ".inf", "-.Inf", ".NaN"])
def test_nan_and_infinity_stay_text_so_a_schema_rejects_them(text: str) -> None:
    assert load(f"x: {text}\n").data == {"x": text}


def test_keys_are_text_whatever_they_look_like() -> None:
    assert load("1: a\ntrue: b\nnull: c\n").data == {"1": "a", "true": "b", "null": "c"}


def test_short_form_intrinsics_become_long_form() -> None:
    doc = load("""\
        a: !Ref Bucket
        b: !GetAtt Stack.Outputs.VpcId
        c: !GetAtt [Role, Arn]
        d: !Sub "${AWS::Region}-x"
        e: !Join [",", [!Ref A, !Ref B]]
        f: !GetAZs ''
        g: !If [IsProd, !Ref Big, !Ref Small]
        h: !Base64 {"Fn::Sub": "x"}
        """)
    assert doc.data == {
        "a": {"Ref": "Bucket"},
        "b": {"Fn::GetAtt": ["Stack", "Outputs.VpcId"]},  # split on the first dot only
        "c": {"Fn::GetAtt": ["Role", "Arn"]},
        "d": {"Fn::Sub": "${AWS::Region}-x"},
        "e": {"Fn::Join": [",", [{"Ref": "A"}, {"Ref": "B"}]]},
        "f": {"Fn::GetAZs": ""},
        "g": {"Fn::If": ["IsProd", {"Ref": "Big"}, {"Ref": "Small"}]},
        "h": {"Fn::Base64": {"Fn::Sub": "x"}},
    }


def test_aliases_are_expanded_into_independent_data() -> None:
    doc = load("base: &b [1, 2]\ncopy: *b\n")
    assert doc.data == {"base": [1, 2], "copy": [1, 2]}


def test_walk_visits_every_path_depth_first() -> None:
    data = {"a": [1, {"b": None}], "c": "x"}
    assert list(walk(data)) == [
        ((), data), (("a",), [1, {"b": None}]), (("a", 0), 1), (("a", 1), {"b": None}),
        (("a", 1, "b"), None), (("c",), "x"),
    ]


# ------------------------------------------------------------------ positions


POSITIONED = """\
blueprint: v1
service:
  image: nginx
  environment:
    A: "1"
  ports:
    - 80
    -   443
"""


def test_every_value_and_key_has_its_line_and_column() -> None:
    doc = load(POSITIONED)
    assert doc.positions.of_value(("blueprint",)) == (1, 12)
    assert doc.positions.of_key(("blueprint",)) == (1, 1)
    assert doc.positions.of_value(("service", "image")) == (3, 10)
    assert doc.positions.of_key(("service", "image")) == (3, 3)
    assert doc.positions.of_key(("service", "environment", "A")) == (5, 5)
    assert doc.positions.of_value(("service", "ports", 1)) == (8, 9)


def test_a_list_item_has_no_key_so_its_key_position_is_the_value() -> None:
    doc = load(POSITIONED)
    assert doc.positions.of_key(("service", "ports", 1)) == (8, 9)


def test_a_missing_path_falls_back_to_its_nearest_ancestor() -> None:
    doc = load(POSITIONED)
    assert doc.positions.of_value(("service", "cpu")) == doc.positions.of_value(("service",))
    assert doc.positions.of_key(("service", "environment", "B", "x")) == (4, 3)
    assert doc.positions.of_value(("nowhere", 3)) == (1, 1)


def test_document_location_names_the_file() -> None:
    doc = load(POSITIONED)
    location = doc.location(("service", "image"), key=True)
    assert (location.file, location.line, location.column) == ("t.yml", 3, 3)


def test_intrinsic_arguments_are_positioned_under_their_long_form_key() -> None:
    doc = load("a:\n  b: !Ref Thing\n")
    assert doc.positions.of_value(("a", "b", "Ref")) == (2, 6)


# ------------------------------------------------------------------ refusals


def test_decode_strips_a_byte_order_mark() -> None:
    assert decode("t.yml", b"\xef\xbb\xbfa: 1\n") == ("a: 1\n", [])


def test_nul_bytes_are_binary_on_their_line() -> None:
    rule, line, _, message = refusal(b"a: 1\nb: 2\x00\n")
    assert (rule, line) == ("BP001", 2)
    assert "NUL" in message


def test_invalid_utf8_names_byte_line_and_column() -> None:
    rule, line, column, message = refusal(b"a: 1\nname: d\xe9mo\n")
    assert (rule, line, column) == ("BP001", 2, 8)
    assert "0xe9" in message


def test_a_tab_in_the_indentation_gets_a_hint() -> None:
    doc, [finding] = load_text("t.yml", "a:\n\tb: 1\n")
    assert doc is None
    assert finding.rule_id == "BP002"
    assert finding.hint is not None and "tabs" in finding.hint


def test_a_duplicate_key_names_where_it_was_first_defined() -> None:
    rule, line, column, message = refusal("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert (rule, line, column) == ("BP003", 4, 3)
    assert "'c'" in message and "line 3" in message


@pytest.mark.parametrize(("text", "line", "column"), [
    ("a: !!python/object/apply:os.system [ls]\n", 1, 4),
    ("a:\n  - !Secret x\n", 2, 5),
    ("a: !!binary aGVsbG8=\n", 1, 4),
    ("a: !!set {x}\n", 1, 4),
])
def test_tags_that_are_not_plain_yaml_or_intrinsics_are_refused(
        text: str, line: int, column: int) -> None:
    assert refusal(text)[:3] == ("BP004", line, column)


def test_merge_keys_are_refused() -> None:
    assert refusal("base: &b {x: 1}\nc:\n  <<: *b\n")[:3] == ("BP004", 3, 3)


def test_a_complex_key_is_refused() -> None:
    rule, line, _, message = refusal("? [a, b]\n: 1\n")
    assert (rule, line) == ("BP002", 1)
    assert "plain text" in message


def test_an_absurdly_long_number_is_refused_not_computed() -> None:
    assert refusal("a: " + "9" * 101 + "\n")[:2] == ("BP002", 1)


@pytest.mark.parametrize(("text", "line", "message"), [
    ("", 1, "empty"),
    ("# only a comment\n", 1, "empty"),
    ("- a\n", 1, "list"),
    ("a: 1\n---\nb: 2\n", 3, "more than one"),
])
def test_not_one_mapping_is_bp006(text: str, line: int, message: str) -> None:
    rule, found_line, _, found = refusal(text)
    assert (rule, found_line) == ("BP006", line)
    assert message in found


def test_load_file_reports_the_display_name(tmp_path: Path) -> None:
    path = tmp_path / "a.yml"
    path.write_text("a: [1\n")
    doc, [finding] = load_file(str(path), display_name="shown.yml")
    assert doc is None
    assert finding.location.file == "shown.yml"


def test_load_file_of_a_folder_or_a_missing_file_is_a_finding(tmp_path: Path) -> None:
    for path in (tmp_path, tmp_path / "missing.yml"):
        doc, [finding] = load_file(str(path))
        assert doc is None
        assert finding.rule_id == "BP001" and "cannot read file" in finding.message


# ------------------------------------------------------------------ hostile input
# Correctness and memory only: how fast these are refused is measured in bench/.


def alias_bomb(levels: int = 10) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]"
              for level in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_stops_at_the_node_budget() -> None:
    rule, line, _, message = refusal(alias_bomb())
    assert rule == "BP005"
    assert f"{MAX_NODES:,}" in message
    assert line == 1  # aliases share their anchor's node: the budget runs out there


def test_a_small_alias_fan_out_is_fine() -> None:
    assert load(alias_bomb(levels=3)).data["a2"][9][9][9] == "lol"


def test_a_file_over_the_size_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    path.write_bytes(b"a: " + b"x" * (15 * 1024 * 1024) + b"\n")
    tracemalloc.start()
    try:
        doc, [finding] = load_file(str(path))
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert doc is None
    assert finding.rule_id == "BP001" and "limit" in finding.message
    assert peak_mb < 5, f"traced peak {peak_mb:.1f} MB: the whole 15 MB file was read"


def test_a_document_just_under_the_size_limit_but_too_dense_is_refused_before_composing() -> None:
    text = "x: [" + "1," * (MAX_NODES + 10) + "1]\n"
    assert len(text.encode()) <= MAX_FILE_BYTES
    rule, _, _, message = refusal(text)
    assert rule == "BP005" and "dense" in message

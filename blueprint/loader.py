"""Safe, line-aware YAML loading for blueprints and CloudFormation templates.

PyYAML composes the node tree (aliases stay shared, so composing an alias
bomb is cheap); this module then builds plain JSON-like data from the nodes
itself, so no tag can ever construct a Python object. Every value and every
mapping key keeps its 1-based line and column, addressed by its path from the
root (the same path a JSON Pointer names).

Every problem is returned as a ``Finding`` with a location; nothing here
raises on bad input.

A key written twice in one mapping is a BP003 finding, each repetition at its
own line. By default such a file is refused; ``last_wins=True`` reads it as
CloudFormation does instead (the last occurrence counts, the earlier ones are
ignored without a word), so that the policies can still run on it and every
other problem shows in the same run. ``Document.last_wins_text`` is then the
text with the ignored occurrences blanked out, line for line and column for
column, which the checkers read without tripping over the duplicate again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from blueprint.finding import Finding, Location, Severity, Source

MAX_FILE_BYTES = 1_048_576  # CloudFormation's own template limit is 1,000,000 bytes.
MAX_NODES = 200_000  # Generous for any real template; stops alias bombs early.
MAX_DUPLICATES = 100  # Each one costs a pass over the positions: bounded, as files are.

PathPart = str | int
Path = tuple[PathPart, ...]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# CloudFormation's short-form intrinsics: tag -> long-form key.
INTRINSIC_TAGS: dict[str, str] = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    **{
        f"!{name}": f"Fn::{name}"
        for name in (
            "Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue", "Join",
            "Select", "Split", "Sub", "Transform", "And", "Equals", "If", "Not", "Or",
            "ToJsonString", "Length", "ForEach",
        )
    },
}

_STR = "tag:yaml.org,2002:str"
_PLAIN_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
    _STR,
}
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


@dataclass(frozen=True)
class Positions:
    """Line and column of every value (and of every mapping key) by path."""

    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def of_value(self, path: Path) -> tuple[int, int]:
        """The position of ``path``, or of its nearest ancestor that exists."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found:
                return found
        return (1, 1)

    def of_key(self, path: Path) -> tuple[int, int]:
        """Where the key of ``path`` (or of its nearest ancestor that exists) is written."""
        for end in range(len(path), 0, -1):
            found = self.keys.get(path[:end])
            if found is None and isinstance(path[end - 1], int):
                found = self.values.get(path[:end])  # a list item has no key: its dash
            if found:
                return found
        return self.of_value(())


@dataclass(frozen=True)
class Overridden:
    """A key/value pair written again later in its mapping: what the reader ignores."""

    start: int  # character offset of the key
    end: int  # character offset just past the value
    flow: bool  # in a flow mapping (JSON, `{...}`): a comma separates it from the next key


@dataclass(frozen=True)
class Document:
    file: str
    data: Any  # with a duplicate key, the last occurrence (as CloudFormation reads it)
    positions: Positions  # of the data: with a duplicate key, of its last occurrence
    text: str
    overridden: tuple[Overridden, ...] = ()

    def location(self, path: Path, *, key: bool = False) -> Location:
        line, column = self.positions.of_key(path) if key else self.positions.of_value(path)
        return Location(self.file, line, column)

    def last_wins_text(self) -> str:
        """The text with every ignored duplicate blanked: same data, same lines and columns."""
        if not self.overridden:
            return self.text
        chars = list(self.text)
        for span in self.overridden:
            for index in range(span.start, min(span.end, len(chars))):
                if chars[index] not in "\r\n":
                    chars[index] = " "
            if span.flow:
                after = span.end
                while after < len(chars) and chars[after] in " \t\r\n":
                    after += 1
                if after < len(chars) and chars[after] == ",":
                    chars[after] = " "
        return "".join(chars)


class _Problem(Exception):
    def __init__(self, rule_id: str, message: str, line: int, column: int,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.rule_id = rule_id
        self.message = message
        self.line = line
        self.column = column
        self.hint = hint


def _finding(file: str, rule_id: str, message: str, line: int = 1, column: int = 1,
             hint: str | None = None) -> Finding:
    return Finding(Source.LOADER, rule_id, Severity.ERROR, Location(file, line, column),
                   message, hint)


def decode(file: str, raw: bytes) -> tuple[str | None, list[Finding]]:
    """Bytes -> text, refusing what cannot be a YAML/JSON document."""
    if len(raw) > MAX_FILE_BYTES:
        return None, [_finding(
            file, "BP001",
            f"file is {len(raw):,} bytes, over the {MAX_FILE_BYTES:,}-byte limit",
            hint="a blueprint is a few dozen lines and CloudFormation refuses templates "
                 "over 1 MB; check that this is the file you meant",
        )]
    if b"\x00" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        return None, [_finding(file, "BP001", "file contains NUL bytes: it is binary, not YAML",
                               line, 1)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        return None, [_finding(file, "BP001",
                               f"file is not valid UTF-8 (byte 0x{raw[err.start]:02x})",
                               line, column, hint="save the file as UTF-8")]
    return text.removeprefix("\ufeff"), []


def load_text(file: str, text: str, *,
              last_wins: bool = False) -> tuple[Document | None, list[Finding]]:
    """Text -> a ``Document`` of plain data with positions, or findings.

    With ``last_wins`` a duplicate key does not stop the load: the document
    comes back (read as CloudFormation reads it) together with its BP003 findings.
    """
    # Composing builds every node before the budget below can count them; an upper
    # bound on the node count, taken first, keeps memory bounded on dense input.
    estimate = text.count(",") + text.count(": ") + text.count(":\n") + text.count("- ")
    if estimate > MAX_NODES:
        return None, [_finding(file, "BP005",
                               f"document is too dense: about {estimate:,} values, more than "
                               f"the {MAX_NODES:,} a blueprint or template can hold",
                               hint="check that this is the file you meant")]
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = err.problem or "invalid YAML"
        hint = None
        lines = text.splitlines()
        if mark and mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
            hint = "YAML does not allow tabs for indentation; use spaces"
        return None, [_finding(file, "BP002", f"YAML syntax error: {problem}", line, column, hint)]
    except yaml.YAMLError as err:
        return None, [_finding(file, "BP002", f"YAML error: {err}")]
    except RecursionError:
        return None, [_finding(file, "BP005", "document is nested too deeply")]
    documents = [n for n in nodes if n is not None]
    if not documents:
        return None, [_finding(file, "BP006", "file is empty",
                               hint="start from one of the examples in examples/")]
    if len(documents) > 1:
        mark = documents[1].start_mark
        return None, [_finding(file, "BP006", "file holds more than one YAML document",
                               mark.line + 1, mark.column + 1,
                               hint="put one blueprint or template per file")]
    root = documents[0]
    if not isinstance(root, yaml.MappingNode):
        return None, [_finding(file, "BP006",
                               f"top level is a {_kind(root)}, expected a mapping of keys",
                               root.start_mark.line + 1, root.start_mark.column + 1)]
    builder = _Builder()
    try:
        data = builder.build(root, ())
    except _Problem as problem:
        return None, [*builder.duplicates(file),
                      _finding(file, problem.rule_id, problem.message, problem.line,
                               problem.column, problem.hint)]
    except RecursionError:
        return None, [_finding(file, "BP005", "document is nested too deeply")]
    duplicates = builder.duplicates(file)
    if duplicates and not last_wins:
        return None, duplicates
    return Document(file, data, builder.positions, text, tuple(builder.overridden)), duplicates


def load_file(path: str, display_name: str | None = None, *,
              last_wins: bool = False) -> tuple[Document | None, list[Finding]]:
    name = display_name or path
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        return None, [_finding(name, "BP001", f"cannot read file: {err.strerror or err}")]
    return load_bytes(name, raw, last_wins=last_wins)


def load_bytes(name: str, raw: bytes, *,
               last_wins: bool = False) -> tuple[Document | None, list[Finding]]:
    text, findings = decode(name, raw)
    if text is None:
        return None, findings
    return load_text(name, text, last_wins=last_wins)


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "list"
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    return "scalar value"


_DUPLICATE_HINT = ("remove all but one. CloudFormation reads the last occurrence and ignores "
                   "the others without a word (the AWS CLI's `cloudformation package` and "
                   "`deploy` refuse such a YAML file); the other findings here are on that "
                   "last-wins reading")


class _Builder:
    def __init__(self) -> None:
        self.positions = Positions()
        self._budget = MAX_NODES
        # (message, line, column) of every repeated key, in the order written
        self._duplicates: list[tuple[str, int, int]] = []
        self.overridden: list[Overridden] = []

    def duplicates(self, file: str) -> list[Finding]:
        return [_finding(file, "BP003", message, line, column, _DUPLICATE_HINT)
                for message, line, column in self._duplicates]

    def _spend(self, node: yaml.Node) -> None:
        self._budget -= 1
        if self._budget < 0:
            raise _Problem("BP005",
                           f"document expands to more than {MAX_NODES:,} values "
                           "(an alias bomb?)",
                           node.start_mark.line + 1, node.start_mark.column + 1,
                           hint="avoid YAML anchors and aliases in blueprints")

    def build(self, node: yaml.Node, path: Path) -> Any:
        self._spend(node)
        mark = node.start_mark
        self.positions.values.setdefault(path, (mark.line + 1, mark.column + 1))
        tag = node.tag
        if tag in INTRINSIC_TAGS:
            return {INTRINSIC_TAGS[tag]: self._intrinsic_argument(node, tag, path)}
        if isinstance(node, yaml.ScalarNode):
            if tag not in _PLAIN_TAGS:
                raise self._bad_tag(node)
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode):
            if tag != _SEQ:
                raise self._bad_tag(node)
            return [self.build(child, (*path, index)) for index, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if tag != _MAP:
                raise self._bad_tag(node)
            return self._mapping(node, path)
        raise self._bad_tag(node)

    def _intrinsic_argument(self, node: yaml.Node, tag: str, path: Path) -> Any:
        inner = (*path, INTRINSIC_TAGS[tag])
        if isinstance(node, yaml.ScalarNode):
            self.positions.values.setdefault(inner, (node.start_mark.line + 1,
                                                     node.start_mark.column + 1))
            value = node.value
            if tag == "!GetAtt":
                # Split on the first dot only: `!GetAtt Stack.Outputs.Name`.
                head, _, tail = value.partition(".")
                return [head, tail] if tail else [head]
            if tag == "!GetAZs" and value == "":
                return ""
            return value
        plain = node
        if isinstance(node, yaml.SequenceNode):
            plain = yaml.SequenceNode(_SEQ, node.value, node.start_mark, node.end_mark)
        elif isinstance(node, yaml.MappingNode):
            plain = yaml.MappingNode(_MAP, node.value, node.start_mark, node.end_mark)
        return self.build(plain, inner)

    def _bad_tag(self, node: yaml.Node) -> _Problem:
        return _Problem(
            "BP004", f"YAML tag {node.tag!r} is not allowed",
            node.start_mark.line + 1, node.start_mark.column + 1,
            hint="remove the tag; only plain YAML values and CloudFormation's short-form "
                 "intrinsics (!Ref, !Sub, ...) are accepted",
        )

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _STR or node.style in ("'", '"', "|", ">"):
            return str(node.value)
        value: str = node.value
        if node.tag == "tag:yaml.org,2002:null":
            return None
        if node.tag == "tag:yaml.org,2002:bool":
            return value.lower() in ("yes", "true", "on", "y")
        if node.tag == "tag:yaml.org,2002:int":
            return self._int(value, node)
        if node.tag == "tag:yaml.org,2002:float":
            number = float(value.replace("_", "").replace(".inf", "inf").replace(".nan", "nan")
                           .replace(".Inf", "inf").replace(".NaN", "nan")
                           .replace(".INF", "inf").replace(".NAN", "nan"))
            # NaN and infinities have no JSON form; keep the text so schemas reject them.
            return value if math.isinf(number) or math.isnan(number) else number
        # Timestamps stay text: a blueprint's `expires: 2027-03-31` is a date string.
        return value

    def _int(self, value: str, node: yaml.ScalarNode) -> int:
        text = value.replace("_", "")
        sign = -1 if text.startswith("-") else 1
        text = text.lstrip("+-")
        try:
            if text.startswith("0b"):
                return sign * int(text[2:], 2)
            if text.startswith("0x"):
                return sign * int(text[2:], 16)
            if ":" in text:  # YAML 1.1 sexagesimal
                total = 0
                for part in text.split(":"):
                    total = total * 60 + int(part)
                return sign * total
            if text.startswith("0") and len(text) > 1:
                return sign * int(text, 8)
            if len(text) > 100:
                raise ValueError(text)
            return sign * int(text)
        except ValueError as err:
            raise _Problem("BP002", f"cannot read number {value[:40]!r}",
                           node.start_mark.line + 1, node.start_mark.column + 1) from err

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        written: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            self._spend(key_node)
            line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Problem("BP004", "YAML merge keys (<<) are not supported", line, column,
                               hint="write the keys out; CloudFormation does not accept "
                                    "merge keys either")
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                raise _Problem("BP002", "mapping keys must be plain text", line, column)
            key = str(key_node.value)
            if key in written:
                self._repeated(key, (*path, key), written[key], bool(node.flow_style),
                               line, column)
            written[key] = (key_node, value_node)
            self.positions.keys[(*path, key)] = (line, column)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _repeated(self, key: str, path: Path, earlier: tuple[yaml.Node, yaml.Node],
                  flow: bool, line: int, column: int) -> None:
        """Record a repeated key; the earlier occurrence's positions give way to the new one's."""
        if len(self._duplicates) >= MAX_DUPLICATES:
            raise _Problem("BP003", f"more than {MAX_DUPLICATES} duplicate keys", line, column,
                           hint="check that this is the file you meant")
        earlier_key, earlier_value = earlier
        first_line = earlier_key.start_mark.line + 1
        self._duplicates.append((
            f"duplicate key {key!r} (also on line {first_line}): only this last one is read, "
            f"the value on line {first_line} is ignored", line, column))
        self.overridden.append(Overridden(earlier_key.start_mark.index,
                                          earlier_value.end_mark.index, flow))
        depth = len(path)
        for table in (self.positions.values, self.positions.keys):
            for stale in [p for p in table if p[:depth] == path]:
                del table[stale]


def walk(data: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) pair in a document, depth first."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from walk(value, (*path, index))

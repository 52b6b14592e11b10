"""Environments: one blueprint, several deployments (dev, staging, prod...), each pinned.

A blueprint's optional ``environments:`` section names each environment, the
account and region it is pinned to, the ``overrides`` merged onto the base
blueprint and the waivers it adds. This module is pure (no I/O): from a loaded
blueprint it builds each environment's *effective* blueprint:

* the base deep-merged with the overrides: mappings merge, lists and scalars
  replace; ``environments`` is removed;
* waivers: the base's, then the environment's;
* tags: the merged tags plus ``environment: NAME``;
* the stack name ``<name>-<environment>``.

Every written value of the effective blueprint keeps where it came from (its
``ValueOrigin``: a base line or an override line; a value no one wrote is a
schema default). ``Environment.document`` is the effective data with the
positions of those lines, so every check that locates its findings in a
``Document`` (the schema, the cross-field checks, the tracing of rendered
findings, the waivers) points at the override's line when the value came
from an override, and at the base line otherwise.

``combine`` merges the findings of the base and of each environment into one
report: a finding the base has too is reported once, at the base line; one
that only environments have says which.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from blueprint.errors import UsageError
from blueprint.finding import Finding, Location, Severity, Source
from blueprint.loader import Document, Path, Positions
from blueprint.waivers import UNUSED_WAIVER

SECTION = "environments"
OVERRIDES = "overrides"
ENVIRONMENT_TAG = "environment"
NOT_OVERRIDABLE = ("blueprint", "name")
# CloudFormation: "A stack name can contain only alphanumeric characters (case-sensitive)
# and hyphens. It must start with an alphabetic character and can't be longer than 128."
CLOUDFORMATION_STACK_NAME_MAX = 128
STACK_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")

DEFAULT, BASE, OVERRIDE, ADDED = "default", "base", "override", "environment"


@dataclass(frozen=True)
class ValueOrigin:
    """Where one value of an effective blueprint came from."""

    kind: str  # DEFAULT (a schema default), BASE, OVERRIDE or ADDED (the environment tag)
    source: Path = ()  # its path in the file (under environments.ENV... for an override)
    line: int = 0  # where it is written (its key's line in a mapping); 0 for a default
    environment: str | None = None

    def describe(self) -> str:
        """``default``, ``base line 12``, ``override (prod) line 31``."""
        if self.kind == BASE:
            return f"base line {self.line}"
        if self.kind == OVERRIDE:
            return f"override ({self.environment}) line {self.line}"
        if self.kind == ADDED:
            return f"added for environment {self.environment} (line {self.line})"
        return "default"


DEFAULT_ORIGIN = ValueOrigin(DEFAULT)


@dataclass(frozen=True)
class Environment:
    name: str  # "prod"
    account: str  # "222222222222"
    region: str  # "eu-west-1"
    stack_name: str  # "<blueprint name>-<env>", e.g. "orders-prod"
    # The effective blueprint data: base deep-merged with the overrides, `environments`
    # removed, waivers = base + environment waivers, tags + {"environment": name}.
    data: dict[str, Any]
    # Every written value of ``data`` by path; a path absent here is a schema default.
    origins: Mapping[Path, ValueOrigin] = field(default_factory=dict)
    # ``data`` positioned at the lines its values come from (base or override lines).
    document: Document | None = None

    def origin(self, path: Path) -> ValueOrigin:
        return self.origins.get(tuple(path), DEFAULT_ORIGIN)

    @property
    def overridden_paths(self) -> frozenset[Path]:
        return frozenset(p for p, o in self.origins.items() if o.kind == OVERRIDE)


def environment_names(data: Mapping[str, Any]) -> list[str]:
    """The environments a blueprint declares, as written; [] when it has none."""
    section = data.get(SECTION) if isinstance(data, Mapping) else None
    return [str(name) for name in section] if isinstance(section, dict) else []


def select(doc: Document, env: str | None) -> Environment | None:
    """The environment ``env`` of a loaded blueprint (None: it has no environments).

    UsageError (exit 2) when ``env`` is missing but the blueprint has environments,
    unknown (with "did you mean"), or given for a blueprint without environments.
    """
    names = environment_names(doc.data)
    if env is None:
        if names:
            raise UsageError(f"{doc.file} has environments {', '.join(names)}: pass --env NAME",
                             hint=f"e.g. --env {names[0]}")
        return None
    if not names:
        raise UsageError(f"--env {env}: {doc.file} has no environments",
                         hint="leave out --env, or add an `environments:` section")
    if env not in names:
        close = difflib.get_close_matches(env, names, n=1, cutoff=0.6)
        raise UsageError(f"unknown environment {env!r} in {doc.file}",
                         hint=(f"did you mean {close[0]!r}? " if close else "")
                         + f"its environments are {', '.join(names)}")
    return effective(doc, env)


def all_environments(doc: Document) -> list[Environment]:
    return [effective(doc, name) for name in environment_names(doc.data)]


def base_origins(doc: Document) -> dict[Path, ValueOrigin]:
    """Where each value of a blueprint without environments is written."""
    origins: dict[Path, ValueOrigin] = {}
    _mark(doc, doc.data, (), (), origins, BASE, None)
    return origins


def merge(base: Any, override: Any) -> Any:
    """``override`` merged onto ``base``: mappings merge, lists and scalars replace."""
    return _merge(base, override, (), (), {}, "")


def effective(doc: Document, env: str) -> Environment:
    """The effective blueprint of environment ``env`` (which ``doc`` must declare)."""
    spec = _mapping(doc.data[SECTION][env])
    origins: dict[Path, ValueOrigin] = {}
    base = {key: copy.deepcopy(value) for key, value in doc.data.items() if key != SECTION}
    _mark(doc, base, (), (), origins, BASE, None)
    overrides = _mapping(spec.get(OVERRIDES))
    data = base
    for key, value in overrides.items():
        if key in NOT_OVERRIDABLE:
            continue  # the schema refuses them (see explain); never merged
        source = (SECTION, env, OVERRIDES, key)
        data[key] = _merge(data.get(key), value, (key,), source, origins, env, doc,
                           present=key in data)
    _add_waivers(doc, data, spec, env, origins)
    _add_environment_tag(doc, data, env, origins)
    name = str(doc.data.get("name", ""))
    document = Document(doc.file, data, _positions(doc, origins), doc.text)
    return Environment(env, str(spec.get("account", "")), str(spec.get("region", "")),
                       stack_name_of(name, env), data, origins, document)


def stack_name_of(name: str, env: str) -> str:
    return f"{name}-{env}"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _merge(base: Any, override: Any, path: Path, source: Path, origins: dict[Path, ValueOrigin],
           env: str, doc: Document | None = None, *, present: bool = True) -> Any:
    if present and isinstance(base, dict) and isinstance(override, dict):
        result = dict(base)
        for key, value in override.items():
            result[key] = _merge(base.get(key), value, (*path, key), (*source, key), origins,
                                 env, doc, present=key in base)
        return result
    for stale in [p for p in origins if p[:len(path)] == path]:
        del origins[stale]  # a replaced list or scalar leaves nothing of the base behind
    value = copy.deepcopy(override)
    if doc is not None:
        _mark(doc, value, path, source, origins, OVERRIDE, env)
    return value


def _mark(doc: Document, value: Any, path: Path, source: Path,
          origins: dict[Path, ValueOrigin], kind: str, env: str | None) -> None:
    for relative, _ in _walk(value):
        line = _line(doc, (*source, *relative))
        origins[(*path, *relative)] = ValueOrigin(kind, (*source, *relative), line, env)


def _walk(data: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _walk(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _walk(value, (*path, index))


def _line(doc: Document, source: Path) -> int:
    found = doc.positions.keys.get(source) or doc.positions.values.get(source)
    return found[0] if found else doc.positions.of_value(source)[0]


def _add_waivers(doc: Document, data: dict[str, Any], spec: dict[str, Any], env: str,
                 origins: dict[Path, ValueOrigin]) -> None:
    """Base waivers apply to every environment; an environment's are added after them."""
    own = spec.get("waivers")
    if not isinstance(own, list) or not own:
        return
    base = data.get("waivers")
    base_list = base if isinstance(base, list) else []
    if "waivers" not in data:
        origins[("waivers",)] = ValueOrigin(OVERRIDE, (SECTION, env, "waivers"),
                                            _line(doc, (SECTION, env, "waivers")), env)
    data["waivers"] = [*copy.deepcopy(base_list), *copy.deepcopy(own)]
    for index, waiver in enumerate(own):
        _mark(doc, waiver, ("waivers", len(base_list) + index), (SECTION, env, "waivers", index),
              origins, OVERRIDE, env)


def _add_environment_tag(doc: Document, data: dict[str, Any], env: str,
                         origins: dict[Path, ValueOrigin]) -> None:
    source = (SECTION, env)
    origin = ValueOrigin(ADDED, source, _line(doc, source), env)
    tags = data.get("tags")
    if not isinstance(tags, dict):
        if "tags" in data:
            return  # not a mapping: the schema says so, there is nothing to add to
        tags = data["tags"] = {}
        origins[("tags",)] = origin
    tags[ENVIRONMENT_TAG] = env
    origins[("tags", ENVIRONMENT_TAG)] = origin


def _positions(doc: Document, origins: Mapping[Path, ValueOrigin]) -> Positions:
    """Each effective path at the position of the value it came from."""
    positions = Positions()
    for path, origin in origins.items():
        if origin.kind == ADDED:
            found = doc.positions.keys.get(origin.source)
            if found:
                positions.values[path] = positions.keys[path] = found
            continue
        value = doc.positions.values.get(origin.source)
        key = doc.positions.keys.get(origin.source)
        if value:
            positions.values[path] = value
        if key:
            positions.keys[path] = key
    return positions


# --- checks of the section itself --------------------------------------------------------


def stack_name_findings(doc: Document, name_max: int = 64) -> list[Finding]:
    """Each environment's stack name ``<name>-<env>`` within our name rules and CloudFormation's.

    ``name_max`` is the schema's limit on ``name`` (the stack of a blueprint without
    environments is named ``name``): a stack name blueprint makes obeys the same rule.
    """
    name = doc.data.get("name")
    if not isinstance(name, str):
        return []
    limit = min(name_max, CLOUDFORMATION_STACK_NAME_MAX)
    findings = []
    for env in environment_names(doc.data):
        stack = stack_name_of(name, env)
        if len(stack) > limit or not STACK_NAME_PATTERN.match(stack):
            findings.append(Finding(
                Source.SCHEMA, "BP105", Severity.ERROR, doc.location((SECTION, env), key=True),
                f"the stack of environment {env!r} would be named {stack!r} ({len(stack)} "
                f"characters); stack names are at most {limit} characters of letters, digits "
                "and hyphens, starting with a letter",
                f"shorten the environment name or `name` to at most {limit} characters "
                "together (plus one for the hyphen)",
                blueprint_path=f"{SECTION}.{env}"))
    return findings


def explain(findings: list[Finding]) -> list[Finding]:
    """The schema's "unknown key" of ``blueprint``/``name`` in overrides, said as it is meant."""
    return [_explained(finding) for finding in findings]


def _explained(finding: Finding) -> Finding:
    path = (finding.blueprint_path or "").split(".")
    if not (finding.rule_id == "BP101" and len(path) == 4 and path[0] == SECTION
            and path[2] == OVERRIDES and path[3] in NOT_OVERRIDABLE):
        return finding
    return replace(
        finding,
        message=f"{path[3]!r} cannot be overridden (environment {path[1]}): "
                "every environment shares the blueprint's version and name",
        hint="remove it from overrides; the stack of environment "
             f"{path[1]!r} is named <name>-{path[1]} already")


def section_is_sound(findings: list[Finding]) -> bool:
    """No error inside ``environments``: each environment can be built and checked."""
    return not any(f.severity is Severity.ERROR and _about_the_section(f) for f in findings)


# --- one report for the base and every environment ---------------------------------------


def in_each(findings: list[Finding], env: str) -> list[Finding]:
    """Findings of one environment's check, each saying which environment."""
    return [in_environments(finding, [env]) for finding in findings]


def in_environments(finding: Finding, names: Collection[str]) -> Finding:
    if not names:
        return finding
    ordered = sorted(names)
    label = (f"environment {ordered[0]}" if len(ordered) == 1
             else f"environments {', '.join(ordered)}")
    return replace(finding, message=f"{finding.message} ({label})")


def _identity(finding: Finding) -> tuple[Any, ...]:
    """What makes two findings one problem: not where in which rendering it was seen."""
    return (finding.source, finding.rule_id, finding.severity, finding.location,
            finding.message, finding.hint, finding.blueprint_path, finding.resource,
            finding.property_path, finding.waived_by is None)


def _about_the_section(finding: Finding) -> bool:
    path = finding.blueprint_path or ""
    return path == SECTION or path.startswith((f"{SECTION}.", f"{SECTION}["))


def combine(base: list[Finding], per_environment: Mapping[str, list[Finding]],
            base_waivers: Collection[Location] = ()) -> list[Finding]:
    """The findings of the base and of each environment as one list, each problem once.

    A finding the base has is reported at its base line, naming the environments
    that have it too (or saying none deploys it); one only environments have is
    reported once, naming them. A base waiver is unused (BP205) only when the base
    and every environment leave it unused; ``base_waivers`` are its locations.
    """
    seen_in: dict[tuple[Any, ...], list[str]] = {}
    first: dict[tuple[Any, ...], Finding] = {}
    for env, findings in per_environment.items():
        for finding in findings:
            key = _identity(finding)
            first.setdefault(key, finding)
            if env not in seen_in.setdefault(key, []):
                seen_in[key].append(env)
    everywhere = set(per_environment)
    result = []
    base_keys = set()
    for finding in base:
        key = _identity(finding)
        base_keys.add(key)
        envs = seen_in.get(key, [])
        if finding.rule_id == UNUSED_WAIVER and set(envs) != everywhere:
            continue  # some environment uses the waiver
        if not everywhere or finding.source is Source.LOADER or _about_the_section(finding):
            result.append(finding)
        elif not envs:
            result.append(replace(finding, message=f"{finding.message} (base blueprint only: "
                                                   "not in any environment)"))
        else:
            result.append(in_environments(finding, envs))
    for key, finding in first.items():
        if key in base_keys:
            continue
        if finding.rule_id == UNUSED_WAIVER and finding.location in base_waivers:
            continue  # a base waiver the base or another environment uses
        result.append(in_environments(finding, seen_in[key]))
    return result

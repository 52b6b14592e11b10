"""The check pipeline: bytes read once, loaded, schema-checked, rendered, policy-checked.

Every file goes through the same steps, whether ``validate`` reports on it
or ``deploy`` is about to upload it:

1. its bytes are read once; everything else derives from them;
2. they are loaded, and the file is recognised as a blueprint or a template;
3. a blueprint is schema-checked and, when valid, rendered once;
4. the result cache is asked, keyed by the bytes *and* the rendered texts;
5. on a miss, cfn-guard and cfn-lint check exactly those texts (the files
   cfn-guard reads are written from them), and findings are traced back to
   the line the user wrote; then the blueprint's waivers apply. A SAM
   template is expanded only now (its translator is slow to load): cfn-lint
   reads the template as written (it knows SAM), cfn-guard the expansion.

``check_blueprint`` returns the rendering of step 3 with its report, so what
a deploy uploads is the very text that was checked.

A key written twice is a BP003 error, and the file is still checked as
CloudFormation reads it (the last occurrence counts): a template's checkers
read its text with the ignored occurrences blanked out (same lines), a
blueprint is schema-checked, rendered and policy-checked on that reading, so
every other problem shows in the same run; BP003 alone keeps it from passing
(``load_blueprint``, for render, still refuses it).

Only a checker that cannot run (``ToolError``) stops a run: then nothing it
says could be trusted. Nothing here prints or exits.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from blueprint import catalog, environments, sam, schema
from blueprint.cache import ResultCache
from blueprint.environments import Environment
from blueprint.errors import ToolError, UsageError
from blueprint.expander import Rendering, render
from blueprint.finding import Finding, Location, Report, Severity, Source
from blueprint.guard import GuardViolation, RulePack, default_rule_packs, run_guard
from blueprint.kinds import (
    BLUEPRINT,
    TEMPLATE,
    kind_of,
    not_a_blueprint,
    template_not_blueprint,
    template_problems,
)
from blueprint.lint import LintBatch, LintMatch
from blueprint.loader import MAX_FILE_BYTES, Document, load_bytes, load_file, load_text
from blueprint.model import Blueprint, from_data
from blueprint.resources import DEFAULT_REGION, blueprint_schema_path
from blueprint.sam import Expansion
from blueprint.tracing import (
    Origin,
    guard_finding,
    lint_findings,
    name_subjects,
    pointer_path,
)
from blueprint.waivers import WAIVER_RULES, apply_waivers


@dataclass(frozen=True)
class ValidateOptions:
    lint: bool = True
    rule_packs: tuple[RulePack, ...] = field(default_factory=default_rule_packs)
    region: str = DEFAULT_REGION
    today: date | None = None
    use_cache: bool = True


@dataclass(frozen=True)
class CheckedBlueprint:
    """One file, checked as ``validate`` checks it, with what the check was made on."""

    path: str
    raw: bytes  # the bytes read, once; everything below derives from them
    report: Report  # every finding for this file, exactly as `validate` reports it
    blueprint: Blueprint | None  # None unless the file is a schema-valid blueprint
    rendering: Rendering | None  # the rendering whose texts were checked (None: not rendered)
    # With environments: the one asked for, whose ``blueprint`` and ``rendering`` these are.
    environment: Environment | None = None


@dataclass
class _File:
    """One file under check, from its bytes to its findings."""

    path: str
    raw: bytes | None  # None: it could not be read (a BP001 finding says why)
    findings: list[Finding] = field(default_factory=list)
    doc: Document | None = None
    blueprint: Blueprint | None = None
    rendering: Rendering | None = None
    # The texts the policies check, by template name: the file's own text (its
    # last-wins reading when a key is repeated), or the rendering's texts (the very
    # string objects the rendering holds).
    texts: dict[str, str] = field(default_factory=dict)
    # A template: that text, loaded (the positions the checkers' findings are traced by).
    checked: Document | None = None
    sam: bool = False  # a SAM template: cfn-guard checks its expansion
    # A blueprint's environments, each checked as a file of its own (its effective
    # blueprint, positioned at the lines its values come from); their findings are
    # folded into this file's once checked.
    environments: list[tuple[Environment, _File]] = field(default_factory=list)


def load_blueprint(path: str) -> tuple[Document | None, Blueprint | None, list[Finding]]:
    """A blueprint file -> its document and typed blueprint, or the findings that stop it."""
    doc, findings = load_file(path)
    if doc is None:
        return None, None, findings
    kind = kind_of(doc)
    if kind == TEMPLATE:
        return doc, None, [template_not_blueprint(doc)]
    if kind != BLUEPRINT:
        return doc, None, [not_a_blueprint(doc)]
    findings = schema.check_blueprint(doc)
    if any(f.severity is Severity.ERROR for f in findings):
        return doc, None, findings
    return doc, from_data(doc.data, schema.load_schema()), findings


def load_effective(path: str, env: str | None) -> tuple[
        Document | None, Environment | None, Blueprint | None, list[Finding]]:
    """The blueprint of ``path`` (of its environment ``env``), or the findings that stop it.

    UsageError when ``env`` does not fit the blueprint (``environments.select``).
    """
    doc, blueprint, findings = load_blueprint(path)
    findings = environments.explain(findings)
    if doc is None or blueprint is None:
        return doc, None, None, findings
    chosen = environments.select(doc, env)
    if chosen is None:
        return doc, None, blueprint, findings
    assert chosen.document is not None  # select() always positions the effective data
    found = [*environments.stack_name_findings(doc),
             *environments.in_each(schema.check_blueprint(chosen.document), chosen.name)]
    if any(f.severity is Severity.ERROR for f in found):
        return doc, chosen, None, found
    return doc, chosen, from_data(chosen.data, schema.load_schema()), findings + found


def validate(paths: Sequence[str], options: ValidateOptions | None = None) -> Report:
    """Every finding of every file, collected before returning."""
    options = options or ValidateOptions()
    return _report(_run(paths, options), options)


def check_blueprint(path: str, options: ValidateOptions | None = None, *,
                    environment: str | None = None) -> CheckedBlueprint:
    """``validate`` of one file, returning the bytes, blueprint and rendering it checked.

    A blueprint with environments is checked whole (the base and every environment),
    and ``environment`` (required then: UsageError otherwise, as
    ``environments.select``) names the one whose blueprint and rendering are returned.
    """
    options = options or ValidateOptions()
    file = _prepare(path)
    chosen = _chosen(file, environment)  # before the checks: a wrong name costs nothing
    [checked] = _run_prepared([file], options)
    blueprint, rendering = checked.blueprint, checked.rendering
    if chosen is not None:
        sub = next((sub for env, sub in checked.environments if env.name == chosen.name), None)
        blueprint, rendering = (sub.blueprint, sub.rendering) if sub else (None, None)
    return CheckedBlueprint(path=path, raw=checked.raw or b"", report=_report([checked], options),
                            blueprint=blueprint, rendering=rendering, environment=chosen)


def _chosen(file: _File, environment: str | None) -> Environment | None:
    if file.doc is None or kind_of(file.doc) != BLUEPRINT:
        if environment is not None and file.doc is not None:
            raise UsageError(f"--env {environment}: {file.path} is not a blueprint")
        return None  # its findings say why it is no blueprint
    if not isinstance(file.doc.data.get(environments.SECTION, {}), dict):
        return None  # a malformed section: the schema's findings say so, and nothing passes
    chosen = environments.select(file.doc, environment)
    if chosen is None:
        return None
    return next((env for env, _ in file.environments if env.name == chosen.name), chosen)


def _report(files: list[_File], options: ValidateOptions) -> Report:
    findings = {finding for file in files for finding in file.findings}
    return Report(files=tuple(file.path for file in files),
                  findings=tuple(sorted(findings, key=Finding.sort_key)),
                  rules=catalog.rules_for_report(options.rule_packs))


def _run(paths: Sequence[str], options: ValidateOptions) -> list[_File]:
    return _run_prepared([_prepare(path) for path in _unique(paths)], options)


def _run_prepared(files: list[_File], options: ValidateOptions) -> list[_File]:
    today = options.today or date.today()
    results = ResultCache() if options.use_cache else None
    keys: dict[str, str] = {}
    hits: set[str] = set()
    if results is not None:
        context = _context(options, today)
        for file in files:
            if file.raw is None:
                continue
            key = keys[file.path] = results.key(context, file.path, file.raw,
                                                *_text_parts(file))
            hit = _cached_findings(results.get(key))
            if hit is not None:
                file.findings = hit
                hits.add(file.path)
    fresh = [file for file in files if file.path not in hits]
    _check_policies([*fresh, *(sub for file in fresh for _, sub in file.environments)],
                    options, today)
    for file in fresh:
        if file.environments:
            file.findings = _combined(file)
    if results is not None:
        for file in fresh:
            if file.path in keys:
                results.put(keys[file.path], [f.to_dict() for f in file.findings])
    return files


def _text_parts(file: _File) -> list[str]:
    """The texts the policies check, by name: a cache hit then proves these were checked.

    An environment's texts are named after it (``prod/service.yml``); everything else
    its findings depend on derives from the file's bytes, which the key holds too.
    """
    parts = [part for name, text in file.texts.items() for part in (name, text)]
    for env, sub in file.environments:
        parts += [part for name, text in sub.texts.items()
                  for part in (f"{env.name}/{name}", text)]
    return parts


def _combined(file: _File) -> list[Finding]:
    """The base's findings and each environment's, each problem once (``environments.combine``)."""
    assert file.doc is not None  # a file with environments was loaded
    waivers = file.doc.data.get("waivers")
    base_waivers = [file.doc.location(("waivers", index, "rule"))
                    for index in range(len(waivers) if isinstance(waivers, list) else 0)]
    return environments.combine(file.findings, {env.name: sub.findings
                                                for env, sub in file.environments},
                                base_waivers)


def _cached_findings(entry: Any) -> list[Finding] | None:
    if not isinstance(entry, list):
        return None
    try:
        return [Finding.from_dict(item) for item in entry]
    except (KeyError, ValueError, TypeError):
        return None  # a damaged entry is recomputed, never trusted


def _unique(paths: Sequence[str]) -> list[str]:
    """Each file once, as first named (``a.yml`` and ``./a.yml`` are one file)."""
    seen: dict[str, str] = {}
    for path in paths:
        seen.setdefault(os.path.realpath(path), path)
    return list(seen.values())


def _prepare(path: str) -> _File:
    """Read, load, recognise; a blueprint is schema-checked and, when valid, rendered."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        return _File(path, None, [Finding(Source.LOADER, "BP001", Severity.ERROR,
                                          Location(path, 1, 1),
                                          f"cannot read file: {err.strerror or err}")])
    file = _File(path, raw)
    doc, file.findings = load_bytes(path, raw, last_wins=True)
    if doc is None:
        return file
    file.doc = doc
    kind = kind_of(doc)
    if kind is None:
        file.findings.append(not_a_blueprint(doc))
    elif kind == TEMPLATE:
        problems = template_problems(doc)
        file.findings += problems
        # loader findings (a duplicate key) carry no pointer: name the resource they are in
        file.findings = name_subjects(file.findings, doc)
        if not problems:  # such a file could also break the whole cfn-guard run
            _prepare_template(file, doc)
    else:
        found = environments.explain(schema.check_blueprint(doc))
        file.findings += found
        if not any(f.severity is Severity.ERROR for f in found):
            file.blueprint = from_data(doc.data, schema.load_schema())
            file.rendering = render(file.blueprint)
            file.texts = dict(file.rendering.texts)
        if environments.environment_names(doc.data) and environments.section_is_sound(found):
            file.findings += environments.stack_name_findings(doc)
            file.environments = [(env, _prepare_environment(file, env))
                                 for env in environments.all_environments(doc)]
    return file


def _prepare_environment(file: _File, env: Environment) -> _File:
    """One environment's effective blueprint, schema-checked and, when valid, rendered."""
    assert env.document is not None  # every Environment built from a file is positioned
    sub = _File(file.path, file.raw, doc=env.document)
    sub.findings = schema.check_blueprint(env.document)
    if not any(f.severity is Severity.ERROR for f in sub.findings):
        sub.blueprint = from_data(env.data, schema.load_schema())
        sub.rendering = render(sub.blueprint)
        sub.texts = dict(sub.rendering.texts)
    return sub


def _prepare_template(file: _File, doc: Document) -> None:
    """The text the checkers read: the file's, or its last-wins reading (same lines)."""
    text = doc.last_wins_text()
    checked: Document | None = doc
    if text is not doc.text:
        checked, _ = load_text(doc.file, text)
        if checked is None or checked.data != doc.data:
            # e.g. an ignored occurrence held an anchor used elsewhere: no faithful reading
            file.findings.append(Finding(
                Source.LOADER, "BP003", Severity.ERROR, doc.location(()),
                "the policies did not run: this file cannot be read without its ignored "
                "duplicate keys", "remove the duplicate keys, then validate again"))
            return
    file.checked = checked
    file.sam = sam.is_sam(doc.data)
    file.texts = {Path(file.path).name: text}


def _reload(name: str, text: str) -> Document:
    doc, problems = load_text(name, text)
    if doc is None:  # the expander wrote YAML its own loader cannot read: a bug
        raise RuntimeError(f"rendered {name} does not load: {problems}")
    return doc


def _context(options: ValidateOptions, today: date) -> str:
    """Everything besides a file's bytes and texts that its findings depend on."""
    from blueprint import __version__
    from blueprint.cache import fingerprint_rules
    from blueprint.lint import cfn_lint_version, lint_config_files
    from blueprint.tools import find_cfn_guard

    try:
        guard = find_cfn_guard()
        stat = os.stat(guard)
        guard_identity = f"{os.path.realpath(guard)}:{stat.st_size}:{stat.st_mtime_ns}"
    except (ToolError, OSError):
        guard_identity = "unavailable"  # the check itself reports it, if it needs cfn-guard
    return "\x00".join([
        __version__, guard_identity,
        cfn_lint_version() + lint_config_files() if options.lint else "no-lint",
        options.region, today.isoformat(), sam.translator_version(),
        fingerprint_rules([p.directory for p in options.rule_packs]),
        ",".join(f"{p.directory.resolve()}:{p.mandatory}" for p in options.rule_packs),
        blueprint_schema_path().read_text(encoding="utf-8"),
    ])


@dataclass(frozen=True)
class _Checked:
    """One template text under check, and how its checkers' findings are traced back."""

    file: _File  # the file under check
    origin: Origin  # where it came from
    name: str  # the template's name
    linted: Document  # the template loaded from the very text cfn-lint checks
    guarded: Document | None  # what cfn-guard checks, positioned; None: it checks nothing
    expansion: Expansion | None = None  # a SAM template's expansion (what cfn-guard checks)


def _check_policies(files: list[_File], options: ValidateOptions, today: date) -> None:
    """cfn-guard and cfn-lint on every file's templates, then each blueprint's waivers."""
    with tempfile.TemporaryDirectory(prefix="blueprint-") as scratch:
        checked: dict[str, _Checked] = {}
        for index, file in enumerate(files):
            out_dir = Path(scratch) / str(index)
            out_dir.mkdir()
            doc = file.doc
            if doc is None:  # nothing loaded, nothing to check
                continue
            for name, text in file.texts.items():
                data_file = out_dir / name
                entry = _under_check(file, doc, name, text, options.region)
                if entry.guarded is not None:
                    data_file.write_text(entry.guarded.text, encoding="utf-8")
                checked[str(data_file)] = entry
        # cfn-lint's workers fork first (before any thread exists), then cfn-guard
        # runs in its own process while they work.
        batch = LintBatch([entry.linted.text for entry in checked.values()],
                          region=options.region) if options.lint else None
        guarded = [data_file for data_file, entry in checked.items() if entry.guarded]
        with ThreadPoolExecutor(max_workers=1) as pool:
            guard_run = pool.submit(run_guard, guarded, options.rule_packs)
            matches = batch.results() if batch is not None else {}
            violations = guard_run.result()
    rule_index = catalog.rule_index(options.rule_packs)
    violations = catalog.as_listed(violations, rule_index)  # control ids, not rule names
    _trace(checked, violations, matches, rule_index)
    for file in files:
        if file.rendering is not None and file.doc is not None:
            file.findings = _waive(file.doc, file.findings, rule_index, today)


def _under_check(file: _File, doc: Document, name: str, text: str, region: str) -> _Checked:
    """What cfn-guard and cfn-lint read of one text, and where their findings go."""
    origin = Origin(doc, file.rendering)
    if file.rendering is not None:
        # A rendered template is loaded for its positions, to trace findings back.
        rendered = _reload(name, text)
        return _Checked(file, origin, name, rendered, rendered)
    linted = file.checked or doc
    if not file.sam:
        return _Checked(file, origin, name, linted, linted)
    # cfn-lint reads SAM itself; cfn-guard reads the expansion, positioned in the original.
    expansion, problems = sam.expand(linted, region)
    file.findings += problems
    return _Checked(file, origin, name, linted,
                    expansion.positions if expansion else None, expansion)


def _trace(checked: dict[str, _Checked], violations: list[GuardViolation],
           matches: dict[str, tuple[LintMatch, ...]],
           rule_index: dict[str, catalog.RuleMeta]) -> None:
    """Each violation and lint match as a finding of the file the user wrote."""
    by_file: dict[str, list[GuardViolation]] = {}
    for violation in violations:
        by_file.setdefault(violation.data_file, []).append(violation)
    for data_file, entry in checked.items():
        if entry.guarded is not None:
            _trace_guard(entry, entry.guarded, by_file.get(data_file, []), rule_index)
        if entry.linted.text in matches:
            entry.file.findings += lint_findings(entry.origin, entry.name, entry.linted,
                                                 matches[entry.linted.text])


def _trace_guard(entry: _Checked, guarded: Document, violations: list[GuardViolation],
                 rule_index: dict[str, catalog.RuleMeta]) -> None:
    for violation in violations:
        meta = rule_index.get(violation.rule)
        mandatory = catalog.is_mandatory(violation.rule, Source.GUARD,
                                         meta.mandatory if meta else None)
        finding = guard_finding(entry.origin, entry.name, guarded, violation,
                                mandatory=mandatory, hint=meta.hint if meta else None)
        if entry.expansion is not None:
            finding = _in_expansion(finding, entry.expansion, violation)
        entry.file.findings.append(finding)


def _in_expansion(finding: Finding, expansion: Expansion,
                  violation: GuardViolation) -> Finding:
    """A finding on a SAM expansion, saying so when its resource is one SAM generated."""
    path = pointer_path(violation.pointer)
    if not path:
        return replace(finding, location=sam.locate_unplaced(expansion.positions))
    if len(path) >= 2 and path[0] == "Resources":
        return replace(finding, message=finding.message + expansion.note(str(path[1])))
    return finding


def _waive(doc: Document, findings: list[Finding], index: dict[str, catalog.RuleMeta],
           today: date) -> list[Finding]:
    return apply_waivers(
        findings, doc.data.get("waivers") or [], blueprint_file=doc.file,
        waiver_location=lambda i, key: doc.location(("waivers", i, key)),
        is_mandatory=catalog.mandatory_rules_of(index, findings),
        known_rules=frozenset({*catalog.LOADER_RULES, *catalog.SCHEMA_RULES, *WAIVER_RULES,
                               *index}),
        today=today)

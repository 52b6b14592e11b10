"""The check pipeline: bytes read once, loaded, schema-checked, rendered, policy-checked.

Every file goes through the same steps, whether ``validate`` reports on it
or ``deploy`` is about to upload it:

1. its bytes are read once; everything else derives from them;
2. they are loaded, and the file is recognised as a blueprint or a template;
3. a blueprint is schema-checked and, when valid, rendered once;
4. the result cache is asked, keyed by the bytes *and* the rendered texts;
5. on a miss, cfn-guard and cfn-lint check exactly those texts (the files
   cfn-guard reads are written from them), and findings are traced back to
   the line the user wrote; then the blueprint's waivers apply.

``check_blueprint`` returns the rendering of step 3 with its report, so what
a deploy uploads is the very text that was checked. Only a checker that
cannot run (``ToolError``) stops a run: then nothing it says could be
trusted. Nothing here prints or exits.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from blueprint import catalog, schema
from blueprint.cache import ResultCache
from blueprint.errors import ToolError
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
from blueprint.tracing import Origin, guard_finding, lint_findings
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


@dataclass
class _File:
    """One file under check, from its bytes to its findings."""

    path: str
    raw: bytes | None  # None: it could not be read (a BP001 finding says why)
    findings: list[Finding] = field(default_factory=list)
    doc: Document | None = None
    blueprint: Blueprint | None = None
    rendering: Rendering | None = None
    # The texts the policies check, by template name: the file's own text, or the
    # rendering's texts (the very string objects the rendering holds).
    texts: dict[str, str] = field(default_factory=dict)


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


def validate(paths: Sequence[str], options: ValidateOptions | None = None) -> Report:
    """Every finding of every file, collected before returning."""
    options = options or ValidateOptions()
    return _report(_run(paths, options), options)


def check_blueprint(path: str, options: ValidateOptions | None = None) -> CheckedBlueprint:
    """``validate`` of one file, returning the bytes, blueprint and rendering it checked."""
    options = options or ValidateOptions()
    [checked] = _run([path], options)
    return CheckedBlueprint(path=path, raw=checked.raw or b"", report=_report([checked], options),
                            blueprint=checked.blueprint, rendering=checked.rendering)


def _report(files: list[_File], options: ValidateOptions) -> Report:
    findings = {finding for file in files for finding in file.findings}
    return Report(files=tuple(file.path for file in files),
                  findings=tuple(sorted(findings, key=Finding.sort_key)),
                  rules=catalog.rules_for_report(options.rule_packs))


def _run(paths: Sequence[str], options: ValidateOptions) -> list[_File]:
    today = options.today or date.today()
    files = [_prepare(path) for path in _unique(paths)]
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
    _check_policies(fresh, options, today)
    if results is not None:
        for file in fresh:
            if file.path in keys:
                results.put(keys[file.path], [f.to_dict() for f in file.findings])
    return files


def _text_parts(file: _File) -> list[str]:
    """The texts the policies check, by name: a cache hit then proves these were checked."""
    return [part for name, text in file.texts.items() for part in (name, text)]


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
    doc, file.findings = load_bytes(path, raw)
    if doc is None:
        return file
    file.doc = doc
    kind = kind_of(doc)
    if kind is None:
        file.findings.append(not_a_blueprint(doc))
    elif kind == TEMPLATE:
        problems = template_problems(doc)
        file.findings += problems
        if not problems:  # such a file could also break the whole cfn-guard run
            file.texts = {Path(path).name: doc.text}
    else:
        found = schema.check_blueprint(doc)
        file.findings += found
        if not any(f.severity is Severity.ERROR for f in found):
            file.blueprint = from_data(doc.data, schema.load_schema())
            file.rendering = render(file.blueprint)
            file.texts = dict(file.rendering.texts)
    return file


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
        options.region, today.isoformat(),
        fingerprint_rules([p.directory for p in options.rule_packs]),
        ",".join(f"{p.directory.resolve()}:{p.mandatory}" for p in options.rule_packs),
        blueprint_schema_path().read_text(encoding="utf-8"),
    ])


# data file handed to cfn-guard -> (its file under check, where it came from,
# template name, the template loaded from the very text checked)
_DataFiles = dict[str, tuple[_File, Origin, str, Document]]


def _check_policies(files: list[_File], options: ValidateOptions, today: date) -> None:
    """cfn-guard and cfn-lint on every file's templates, then each blueprint's waivers."""
    with tempfile.TemporaryDirectory(prefix="blueprint-") as scratch:
        data_files: _DataFiles = {}
        for index, file in enumerate(files):
            out_dir = Path(scratch) / str(index)
            out_dir.mkdir()
            if file.doc is None:  # nothing loaded, nothing to check
                continue
            for name, text in file.texts.items():
                data_file = out_dir / name
                data_file.write_text(text, encoding="utf-8")
                # A rendered template is loaded for its positions, to trace findings back.
                positions = file.doc if file.rendering is None else _reload(name, text)
                data_files[str(data_file)] = (file, Origin(file.doc, file.rendering), name,
                                              positions)
        # cfn-lint's workers fork first (before any thread exists), then cfn-guard
        # runs in its own process while they work.
        batch = LintBatch([doc.text for *_, doc in data_files.values()],
                          region=options.region) if options.lint else None
        with ThreadPoolExecutor(max_workers=1) as pool:
            guard_run = pool.submit(run_guard, list(data_files), options.rule_packs)
            matches = batch.results() if batch is not None else {}
            violations = guard_run.result()
    rule_index = catalog.rule_index(options.rule_packs)
    _trace(data_files, violations, matches, rule_index)
    for file in files:
        if file.rendering is not None and file.doc is not None:
            file.findings = _waive(file.doc, file.findings, rule_index, today)


def _trace(data_files: _DataFiles, violations: list[GuardViolation],
           matches: dict[str, tuple[LintMatch, ...]],
           rule_index: dict[str, catalog.RuleMeta]) -> None:
    """Each violation and lint match as a finding of the file the user wrote."""
    by_file: dict[str, list[GuardViolation]] = {}
    for violation in violations:
        by_file.setdefault(violation.data_file, []).append(violation)
    for data_file, (file, origin, name, positions) in data_files.items():
        for violation in by_file.get(data_file, []):
            meta = rule_index.get(violation.rule)
            mandatory = catalog.is_mandatory(violation.rule, Source.GUARD,
                                             meta.mandatory if meta else None)
            file.findings.append(guard_finding(origin, name, positions, violation,
                                               mandatory=mandatory,
                                               hint=meta.hint if meta else None))
        if positions.text in matches:
            file.findings += lint_findings(origin, name, positions, matches[positions.text])


def _waive(doc: Document, findings: list[Finding], index: dict[str, catalog.RuleMeta],
           today: date) -> list[Finding]:
    return apply_waivers(
        findings, doc.data.get("waivers") or [], blueprint_file=doc.file,
        waiver_location=lambda i, key: doc.location(("waivers", i, key)),
        is_mandatory=catalog.mandatory_rules_of(index, findings),
        known_rules=frozenset({*catalog.LOADER_RULES, *catalog.SCHEMA_RULES, *WAIVER_RULES,
                               *index}),
        today=today)

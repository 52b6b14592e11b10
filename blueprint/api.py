"""The library entry points: load, check, render. Nothing here prints or exits.

``validate`` collects every finding of every file before returning one
``Report``; only a checker that cannot run (``ToolError``) stops it, because
then nothing it says could be trusted.
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

from blueprint import catalog
from blueprint.cache import ResultCache
from blueprint.errors import ToolError
from blueprint.expander import Rendering, render
from blueprint.finding import Finding, Location, Report, Severity, Source
from blueprint.guard import GuardViolation, RulePack, default_rule_packs, run_guard, to_finding
from blueprint.lint import LintBatch, LintMatch
from blueprint.loader import MAX_FILE_BYTES, Document, load_bytes, load_file, load_text, walk
from blueprint.model import Blueprint, from_data
from blueprint.resources import DEFAULT_REGION, blueprint_schema_path
from blueprint.schema import check_blueprint, load_schema
from blueprint.waivers import WAIVER_RULES, apply_waivers

BLUEPRINT, TEMPLATE = "blueprint", "template"
TEMPLATE_SECTIONS = frozenset({
    "AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings",
    "Conditions", "Transform", "Resources", "Outputs", "Hooks",
})


@dataclass(frozen=True)
class ValidateOptions:
    lint: bool = True
    rule_packs: tuple[RulePack, ...] = field(default_factory=default_rule_packs)
    region: str = DEFAULT_REGION
    today: date | None = None
    use_cache: bool = True


def kind_of(doc: Document) -> str | None:
    if "blueprint" in doc.data:
        return BLUEPRINT
    if "Resources" in doc.data or "AWSTemplateFormatVersion" in doc.data:
        return TEMPLATE
    return None


def load_blueprint(path: str) -> tuple[Document | None, Blueprint | None, list[Finding]]:
    """A blueprint file -> its document and typed blueprint, or the findings that stop it."""
    doc, findings = load_file(path)
    if doc is None:
        return None, None, findings
    kind = kind_of(doc)
    if kind == TEMPLATE:
        return doc, None, [Finding(
            Source.LOADER, "BP006", Severity.ERROR, Location(doc.file, 1, 1),
            "this is a CloudFormation template, not a blueprint",
            "render and deploy take a blueprint (`blueprint: v1`); "
            "`blueprint validate` checks templates too")]
    if kind != BLUEPRINT:
        return doc, None, [_not_a_blueprint(doc)]
    findings = check_blueprint(doc)
    if any(f.severity is Severity.ERROR for f in findings):
        return doc, None, findings
    return doc, from_data(doc.data, load_schema()), findings


def _not_a_blueprint(doc: Document) -> Finding:
    return Finding(Source.LOADER, "BP006", Severity.ERROR, Location(doc.file, 1, 1),
                   "this file is neither a blueprint (no `blueprint:` key) nor a "
                   "CloudFormation template (no `Resources:`)",
                   "add `blueprint: v1` at the top, or check the file name")


@dataclass
class _Target:
    """One file under check and the templates it contributes to the policy run."""

    doc: Document
    rendering: Rendering | None = None
    # data file handed to cfn-guard -> (template name, its positions source)
    data_files: dict[str, tuple[str, Document]] = field(default_factory=dict)


def validate(paths: Sequence[str], options: ValidateOptions | None = None) -> Report:
    options = options or ValidateOptions()
    today = options.today or date.today()
    unique = _unique(paths)
    # Each file is read once: the bytes checked are the bytes a cache entry is keyed by.
    contents = {path: _read(path) for path in unique}
    results = ResultCache() if options.use_cache else None
    context = _context(options, today) if results is not None else ""
    cached: dict[str, list[Finding]] = {}
    keys: dict[str, str] = {}
    if results is not None:
        for path, raw in contents.items():
            if raw is None:
                continue
            keys[path] = results.key(context, path, raw)
            hit = _cached_findings(results.get(keys[path]))
            if hit is not None:
                cached[path] = hit
    fresh = _check({p: raw for p, raw in contents.items() if p not in cached}, options, today)
    if results is not None:
        for path, found in fresh.items():
            if path in keys:
                results.put(keys[path], [f.to_dict() for f in found])
    findings = [f for found in (*cached.values(), *fresh.values()) for f in found]
    return Report(
        files=tuple(unique),
        findings=tuple(sorted(set(findings), key=Finding.sort_key)),
        rules=catalog.rules_for_report(options.rule_packs),
    )


def _unique(paths: Sequence[str]) -> list[str]:
    """Each file once, as first named (``a.yml`` and ``./a.yml`` are one file)."""
    seen: dict[str, str] = {}
    for path in paths:
        seen.setdefault(os.path.realpath(path), path)
    return list(seen.values())


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None  # load_file reports why


def _context(options: ValidateOptions, today: date) -> str:
    """Everything besides a file's bytes that its findings depend on."""
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


def _cached_findings(entry: Any) -> list[Finding] | None:
    if not isinstance(entry, list):
        return None
    try:
        return [Finding.from_dict(item) for item in entry]
    except (KeyError, ValueError, TypeError):
        return None  # a damaged entry is recomputed, never trusted


def _check(contents: dict[str, bytes | None], options: ValidateOptions,
           today: date) -> dict[str, list[Finding]]:
    """Findings per file, every check run: schema, rendering, Guard, cfn-lint."""
    per_file: dict[str, list[Finding]] = {path: [] for path in contents}
    targets: list[_Target] = []
    with tempfile.TemporaryDirectory(prefix="blueprint-") as scratch:
        for index, (path, raw) in enumerate(contents.items()):
            findings = per_file[path]
            doc, found = load_file(path) if raw is None else load_bytes(path, raw)
            findings += found
            if doc is None:
                continue
            kind = kind_of(doc)
            if kind is None:
                findings.append(_not_a_blueprint(doc))
            elif kind == TEMPLATE:
                unknown = _template_problems(doc)
                findings += unknown
                if not unknown:  # such a file could also break the whole cfn-guard run
                    targets.append(_Target(doc, data_files={path: (Path(path).name, doc)}))
            else:
                found = check_blueprint(doc, today)
                findings += found
                if any(f.severity is Severity.ERROR for f in found):
                    continue
                rendering = render(from_data(doc.data, load_schema()))
                target = _Target(doc, rendering)
                out_dir = Path(scratch) / str(index)
                out_dir.mkdir()
                for name, text in rendering.texts.items():
                    rendered_path = out_dir / name
                    rendered_path.write_text(text, encoding="utf-8")
                    target.data_files[str(rendered_path)] = (name, _reload(name, text))
                targets.append(target)

        data_files = [f for target in targets for f in target.data_files]
        # cfn-lint's workers fork first (before any thread exists), then cfn-guard
        # runs in its own process while they work.
        batch = LintBatch([doc.text for target in targets
                           for _, doc in target.data_files.values()],
                          region=options.region) if options.lint else None
        with ThreadPoolExecutor(max_workers=1) as pool:
            guard_run = pool.submit(run_guard, data_files, options.rule_packs)
            matches = batch.results() if batch is not None else {}
            violations = guard_run.result()
        lint_findings = {
            data_file: _lint_findings(target, name, doc, matches[doc.text])
            for target in targets if batch is not None
            for data_file, (name, doc) in target.data_files.items()
        }
    rule_index = catalog.rule_index(options.rule_packs)
    by_file: dict[str, list[GuardViolation]] = {}
    for violation in violations:
        by_file.setdefault(violation.data_file, []).append(violation)
    for target in targets:
        findings = per_file[target.doc.file]
        for data_file, (name, positions_doc) in target.data_files.items():
            findings += [_guard_finding(target, name, positions_doc, violation, rule_index)
                         for violation in by_file.get(data_file, [])]
            findings += lint_findings.get(data_file, [])
        if target.rendering is not None:
            per_file[target.doc.file] = _waive(target.doc, findings, rule_index, today)
    return per_file


def _waive(doc: Document, findings: list[Finding], index: dict[str, catalog.RuleMeta],
           today: date) -> list[Finding]:
    # Only a Guard rule the catalog knows as advisory may be waived; one it does not
    # know (found in a .ruleset, a subfolder, or the catch-all GUARD) counts as mandatory.
    unlisted = {f.rule_id for f in findings
                if f.source is Source.GUARD and f.rule_id not in index}
    mandatory = frozenset({*catalog.SCHEMA_RULES, *catalog.LOADER_RULES, *unlisted,
                           *(rule for rule, meta in index.items() if meta.mandatory)})
    return apply_waivers(
        findings, doc.data.get("waivers") or [], blueprint_file=doc.file,
        waiver_location=lambda i, key: doc.location(("waivers", i, key)),
        mandatory_rules=mandatory,
        known_rules=frozenset({*catalog.LOADER_RULES, *catalog.SCHEMA_RULES, *WAIVER_RULES,
                               *index}),
        today=today)


def _template_problems(doc: Document) -> list[Finding]:
    """What makes a template uncheckable: unknown sections, and macros.

    A Transform (SAM, AWS::Include, any macro) means CloudFormation deploys
    what the macro returns, which nobody has checked: that fails closed.
    """
    problems = [
        Finding(Source.LOADER, "BP007", Severity.ERROR, doc.location((key,), key=True),
                f"{key!r} is not a CloudFormation template section",
                f"allowed sections: {', '.join(sorted(TEMPLATE_SECTIONS))}")
        for key in doc.data if key not in TEMPLATE_SECTIONS
    ]
    transforms = [path for path, value in walk(doc.data)
                  if path and (path == ("Transform",) or path[-1] == "Fn::Transform")]
    problems += [
        Finding(Source.LOADER, "BP008", Severity.ERROR, doc.location(path, key=True),
                "the template uses a transform (macro): what CloudFormation deploys is the "
                "macro's output, which cannot be checked here",
                "validate the expanded template instead (e.g. from `aws cloudformation "
                "package` / `sam build`, or the change set's processed template)")
        for path in transforms
    ]
    return problems


def _reload(name: str, text: str) -> Document:
    doc, problems = load_text(name, text)
    if doc is None:  # the expander wrote YAML its own loader cannot read: a bug
        raise RuntimeError(f"rendered {name} does not load: {problems}")
    return doc


def _pointer_path(pointer: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for raw in pointer.strip("/").split("/") if pointer.strip("/") else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        parts.append(int(part) if part.isdigit() else part)
    return tuple(parts)


def _locate(target: _Target, template: str, positions_doc: Document, pointer: str,
            line: int = 0, column: int = 0) -> tuple[Location, Location | None, str | None]:
    """(where to report, the rendered location if any, the blueprint field if any)."""
    if pointer:
        template_location = positions_doc.location(_pointer_path(pointer))
    else:
        template_location = Location(positions_doc.file, line or 1, column or 1)
    if target.rendering is None:
        return Location(target.doc.file, template_location.line, template_location.column), \
            None, None
    source = target.rendering.blueprint_field(template, pointer) if pointer else None
    rendered = Location(template, template_location.line, template_location.column)
    if source is None:
        return Location(target.doc.file, 1, 1), rendered, None
    path = tuple(source.split("."))
    return target.doc.location(path, key=True), rendered, source


def _guard_finding(target: _Target, template: str, positions_doc: Document,
                   violation: GuardViolation, rule_index: dict[str, catalog.RuleMeta]) -> Finding:
    location, rendered, source = _locate(target, template, positions_doc, violation.pointer,
                                         violation.line, violation.column)
    meta = rule_index.get(violation.rule)
    finding = to_finding(violation, location, mandatory=meta.mandatory if meta else True,
                         hint=meta.hint if meta else None)
    return _with_rendering(finding, rendered, source, template)


def _with_rendering(finding: Finding, rendered: Location | None, source: str | None,
                    template: str) -> Finding:
    if rendered is None:
        return finding
    from dataclasses import replace

    return replace(finding, rendered_location=rendered, blueprint_path=source,
                   message=f"{finding.message} (rendered {template})")


def _lint_findings(target: _Target, template: str, positions_doc: Document,
                   matches: tuple[LintMatch, ...]) -> list[Finding]:
    result = []
    for match in matches:
        # On a rendered template, trace the match back to the blueprint field.
        pointer = _pointer_at(positions_doc, match.line) if target.rendering else ""
        location, rendered, source = _locate(target, template, positions_doc, pointer,
                                             match.line, match.column)
        if rendered is not None:
            rendered = Location(template, match.line, match.column)
        finding = Finding(Source.LINT, match.rule_id, match.severity, location, match.message)
        result.append(_with_rendering(finding, rendered, source, template))
    return result


def _pointer_at(doc: Document, line: int) -> str:
    """The deepest path whose value starts on ``line`` (to trace a lint match back)."""
    best: tuple[Any, ...] = ()
    for path, (value_line, _) in doc.positions.values.items():
        if value_line == line and len(path) > len(best):
            best = path
    return "/" + "/".join(str(p) for p in best) if best else ""

"""SAM templates, expanded locally so the policies check what CloudFormation deploys.

A template with ``Transform: AWS::Serverless-2016-10-31`` is turned into
plain CloudFormation by AWS's own translator (aws-sam-translator), offline:
no AWS call is made (the managed policy map bundled with the translator is
used, local code paths are replaced by a placeholder S3 location, as ``sam
package`` would replace them with real ones). An application from the
Serverless Application Repository is BP008: its template cannot be fetched
offline, so what it deploys could not be checked.

cfn-guard checks the expansion; every position in it is mapped back to the
template the user wrote. A resource the translator passed through keeps its
own lines. A resource it generated (``MyFunctionRole`` from ``MyFunction``)
is traced to the SAM resource whose logical id its own starts with: to the
same property path there when it exists, else to that resource's
``Properties:`` (or ``Type:``) line. cfn-lint reads SAM templates natively,
so it checks the original and never sees the expansion.

The translator is imported only when a SAM template is checked: its import
costs seconds.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from typing import Any

from blueprint.errors import ToolError
from blueprint.finding import Finding, Location, Severity, Source
from blueprint.loader import Document, Path, Positions, walk

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
SAM_PREFIX = "AWS::Serverless::"
SAM_APPLICATION = "AWS::Serverless::Application"
GLOBALS = "Globals"
# Stands in for what `sam package` uploads: the translator accepts nothing else.
PLACEHOLDER_S3_URI = "s3://blueprint-sam-placeholder/code"


def declared_transforms(data: dict[str, Any]) -> list[Any]:
    """The names in the top-level ``Transform`` (a name or a list of names)."""
    if "Transform" not in data:
        return []
    value = data["Transform"]
    return list(value) if isinstance(value, list) else [value]


def is_sam(data: dict[str, Any]) -> bool:
    return SAM_TRANSFORM in declared_transforms(data)


def translator_version() -> str:
    """The installed translator's version, without importing it (for the result cache key)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aws-sam-translator")
    except PackageNotFoundError:
        return "not installed"


@dataclass(frozen=True)
class Expansion:
    """The expanded template, and where each part of it was written in the original."""

    text: str  # what cfn-guard reads
    positions: Document  # the expansion's data, at the original file's lines
    generated: frozenset[str]  # logical ids that are not written as such in the original

    def note(self, logical_id: str) -> str:
        """What a finding on ``logical_id`` adds to its message, if it is a generated one."""
        return f" (in the SAM expansion: {logical_id})" if logical_id in self.generated else ""


def expand(doc: Document, region: str) -> tuple[Expansion | None, list[Finding]]:
    """The expansion of a SAM template, or the BP008 findings that say why there is none."""
    unresolvable = serverless_repository_applications(doc)
    if unresolvable:
        return None, unresolvable
    try:
        expanded = _translate(doc.data, region)
    except _ExpansionFailed as failed:
        return None, [Finding(
            Source.LOADER, "BP008", Severity.ERROR, doc.location(("Transform",), key=True),
            f"the SAM transform cannot expand this template: {cause}",
            "CloudFormation would refuse it the same way; `sam validate` shows the same error")
            for cause in failed.causes]
    return _mapped(doc, expanded), []


def serverless_repository_applications(doc: Document) -> list[Finding]:
    """BP008 at each application taken from the Serverless Application Repository.

    Its template lives in the repository and cannot be fetched offline, so what
    CloudFormation would deploy for it has not been checked (the translator,
    given a placeholder, would turn it into a nested stack nobody reads).
    """
    resources = doc.data.get("Resources")
    findings = []
    for logical_id, resource in (resources.items() if isinstance(resources, dict) else ()):
        if not isinstance(resource, dict) or resource.get("Type") != SAM_APPLICATION:
            continue
        properties = resource.get("Properties")
        location = properties.get("Location") if isinstance(properties, dict) else None
        if isinstance(location, dict) and not _is_intrinsic(location):
            findings.append(Finding(
                Source.LOADER, "BP008", Severity.ERROR,
                doc.location(("Resources", logical_id, "Properties", "Location"), key=True),
                f"{logical_id} is a Serverless Application Repository application: its "
                "template cannot be resolved offline, so what it deploys is not checked",
                "validate the application's template on its own, then reference that file "
                "(Location: a local path or an S3 URL) or copy its resources into this template",
                resource=logical_id, property_path="Properties.Location"))
    return findings


class _ExpansionFailed(Exception):
    def __init__(self, causes: list[str]) -> None:
        super().__init__("; ".join(causes))
        self.causes = causes


def _translate(data: dict[str, Any], region: str) -> dict[str, Any]:
    from importlib import import_module

    try:
        import boto3

        # The translator ships no type information: its names are used as Any.
        invalid_document = import_module("samtranslator.model.exceptions") \
            .InvalidDocumentException
        parser = import_module("samtranslator.parser.parser").Parser
        app_plugin = import_module("samtranslator.plugins.application.serverless_app_plugin") \
            .ServerlessAppPlugin
        translator_class = import_module("samtranslator.translator.translator").Translator
    except ImportError as err:
        raise ToolError(f"SAM templates need aws-sam-translator, which cannot be imported: {err}",
                        hint="reinstall blueprint (pip install blueprint)") from err
    logging.getLogger("samtranslator").setLevel(logging.CRITICAL)

    def no_network() -> Any:
        raise _ExpansionFailed(["a Serverless Application Repository application cannot be "
                                "resolved offline"])

    template = _with_placeholders(copy.deepcopy(data))
    translator = translator_class(None, parser(),
                                  plugins=[app_plugin(sar_client_creator=no_network)],
                                  boto_session=boto3.session.Session(region_name=region))
    try:
        expanded: dict[str, Any] = translator.translate(
            template, parameter_values=_alias_parameters(template))
    except invalid_document as err:
        raise _ExpansionFailed([str(getattr(cause, "message", cause))
                                for cause in err.causes] or [str(err)]) from err
    except _ExpansionFailed:
        raise
    except Exception as err:  # the translator's own checks are not exhaustive
        raise _ExpansionFailed([f"{type(err).__name__}: {err}"]) from err
    # A plain-data copy: the translator's output may hold its own str subclasses.
    result: dict[str, Any] = json.loads(json.dumps(expanded))
    return result


# Where each SAM type takes a local path that `sam package` would upload.
_UPLOADED = {
    "AWS::Serverless::Function": ("CodeUri",),
    "AWS::Serverless::LayerVersion": ("ContentUri",),
    "AWS::Serverless::StateMachine": ("DefinitionUri",),
    "AWS::Serverless::Api": ("DefinitionUri",),
    "AWS::Serverless::HttpApi": ("DefinitionUri",),
    "AWS::Serverless::Application": ("Location",),
}


def _with_placeholders(template: dict[str, Any]) -> dict[str, Any]:
    """Local code paths replaced by a placeholder S3 location."""
    resources = template.get("Resources")
    for resource in resources.values() if isinstance(resources, dict) else ():
        properties = resource.get("Properties") if isinstance(resource, dict) else None
        if not isinstance(properties, dict):
            continue
        for name in _UPLOADED.get(resource.get("Type"), ()):
            value = properties.get(name)
            if name == "Location" and isinstance(value, str):
                continue  # a template URL or path: the nested stack's TemplateURL, kept
            if value is None or (isinstance(value, str) and value.startswith("s3://")):
                continue
            if isinstance(value, dict) and name != "Location" and not _is_intrinsic(value):
                continue  # {Bucket, Key}: already an S3 location
            properties[name] = PLACEHOLDER_S3_URI
    return template


def _alias_parameters(template: dict[str, Any]) -> dict[str, Any]:
    """A value for each parameter an ``AutoPublishAlias`` names: the translator must resolve it.

    What alias name is published changes nothing the policies check.
    """
    sam_globals = template.get(GLOBALS)
    aliases = [sam_globals.get("Function") if isinstance(sam_globals, dict) else None]
    resources = template.get("Resources")
    aliases += [resource.get("Properties") for resource in
                (resources.values() if isinstance(resources, dict) else ())
                if isinstance(resource, dict)]
    values: dict[str, Any] = {}
    for properties in aliases:
        alias = properties.get("AutoPublishAlias") if isinstance(properties, dict) else None
        if isinstance(alias, dict) and isinstance(alias.get("Ref"), str):
            values[alias["Ref"]] = "live"
    return values


def _is_intrinsic(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)) in ("Ref", "Fn::Sub", "Fn::If", "Fn::Join")


def _mapped(doc: Document, expanded: dict[str, Any]) -> Expansion:
    """The expansion, with every path placed at the line of the original it comes from."""
    original = doc.data.get("Resources") or {}
    sam_ids = sorted((rid for rid, res in original.items() if _is_sam_resource(res)),
                     key=len, reverse=True)
    resources = expanded.get("Resources") or {}
    passed_through = {rid for rid, res in resources.items()
                      if rid in original and not _is_sam_resource(original[rid])}
    positions = Positions()
    transform = doc.positions.of_key(("Transform",))
    for path, _ in walk(expanded):
        if len(path) >= 2 and path[0] == "Resources" and path[1] not in passed_through:
            source = next((sid for sid in sam_ids if str(path[1]).startswith(sid)), None)
            value, key = _generated_place(doc, source, path[2:]) if source else \
                (transform, transform)
        else:
            value, key = doc.positions.of_value(path), doc.positions.of_key(path)
        positions.values[path] = value
        if path and not isinstance(path[-1], int):
            positions.keys[path] = key
    generated = frozenset(resources) - passed_through
    text = json.dumps(expanded, indent=1)
    return Expansion(text, Document(doc.file, expanded, positions, text), generated)


def _is_sam_resource(resource: Any) -> bool:
    return isinstance(resource, dict) and str(resource.get("Type", "")).startswith(SAM_PREFIX)


def _generated_place(doc: Document, source: str,
                     rest: Path) -> tuple[tuple[int, int], tuple[int, int]]:
    """(value, key) positions of a path inside a resource generated from SAM ``source``.

    The same path in the SAM resource when it is written there (or its deepest
    written part), or in the ``Globals`` the SAM resource takes it from, else
    the SAM resource's ``Properties:`` (or ``Type:``) line.
    """
    base: Path = ("Resources", source)
    kind = str(doc.data["Resources"][source].get("Type", "")).removeprefix(SAM_PREFIX)
    shortest = 2 if rest[:1] == ("Properties",) else 1  # a property, not all of Properties
    for end in range(len(rest), shortest - 1, -1):
        found = doc.positions.values.get((*base, *rest[:end]))
        if found:
            return found, doc.positions.of_key((*base, *rest[:end]))
    if rest[:1] == ("Properties",):
        for end in range(len(rest), 1, -1):
            globals_path = (GLOBALS, kind, *rest[1:end])
            found = doc.positions.values.get(globals_path)
            if found:
                return found, doc.positions.of_key(globals_path)
    for name in ("Properties", "Type"):
        found = doc.positions.keys.get((*base, name))
        if found:
            return found, found
    place = doc.positions.of_key(base)
    return place, place


def locate_unplaced(doc: Document) -> Location:
    """Where a finding on the expansion that names no path goes: the Transform line."""
    return doc.location(("Transform",), key=True)

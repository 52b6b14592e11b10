"""Named rule packs installed beside cfn-guard: ``validate --pack control-tower``.

``control-tower`` is AWS Control Tower's proactive controls: the Guard rules
AWS runs as CloudFormation hooks in governed accounts, one file per control,
as shipped in the npm tarball that ``python -m blueprint.install_guard``
already downloads for cfn-guard (checked by its sha256). The installer
extracts them into ``<tools>/rules/control-tower/``, the tarball's layout::

    cfn-guard/<service>/<control>.guard           the rule (cfn-guard reads this folder)
    metadata/<service>/<control>.metadata.json    its id, display name, remediation
    MANIFEST.sha256                               sha256 and path of every file above

The pack is advisory: its findings are warnings (``--fail-on warning`` makes
them block), named by control id (``CT.EC2.PR.15``), which is also what a
waiver names. A run that asks for the pack first checks the extracted files
against the pinned digest of their manifest: a missing, added or altered file
stops the run (exit 2) with the hint to reinstall; it never checks with
rules nobody pinned.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from blueprint.errors import ToolError, UsageError
from blueprint.tools import project_tools_dir

if TYPE_CHECKING:  # reading [tool.blueprint] names packs without loading the checkers
    from blueprint.guard import RulePack

CONTROL_TOWER = "control-tower"
PACK_NAMES = (CONTROL_TOWER,)
# Where the pack sits in the npm tarball (``install_guard.TARBALL_URL``).
CONTROL_TOWER_IN_TARBALL = "package/rules/control-tower/"
# sha256 of the MANIFEST.sha256 text of the 474 files extracted from that tarball.
CONTROL_TOWER_RULES_SHA256 = "ed7186f5efb2d01138bdc3e326abbc90846ed7631211dcc40867886813dbe9ae"
MANIFEST_NAME = "MANIFEST.sha256"
GUARD_DIR, METADATA_DIR = "cfn-guard", "metadata"
PACK_INSTALL_HINT = ("install the pinned rules with `python -m blueprint.install_guard` "
                     "(a checkout's scripts/setup runs it)")

# A rule cfn-guard reports on its own: one that takes no parameters, any case.
_REPORTED_RULE = re.compile(r"^\s*rule\s+([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()", re.MULTILINE)


@dataclass(frozen=True)
class Control:
    """One Control Tower control: its Guard rule and what its metadata says."""

    control_id: str  # CT.EC2.PR.15
    rule_name: str  # the Guard rule cfn-guard reports (ec2_launch_template_nitro_...)
    display_name: str
    description: str
    remediation: str
    documentation: tuple[str, ...]  # URLs

    @property
    def help(self) -> str:
        """The rule's help (SARIF): what it checks, how to fix it, where to read more."""
        parts = [self.description, f"Fix: {self.remediation}" if self.remediation else ""]
        parts += [f"See {url}" for url in self.documentation]
        return "\n".join(part for part in parts if part)


def pack_root(name: str, tools_dir: Path | None = None) -> Path:
    """Where ``install_guard`` puts pack ``name``: ``<tools>/rules/<name>``."""
    return (tools_dir or project_tools_dir()) / "rules" / name


def manifest(root: Path) -> str:
    """``sha256  path`` per file under ``root`` (the manifest itself aside), sorted by path."""
    return _manifest_of(_files(root))


def _files(root: Path) -> dict[str, bytes]:
    files = sorted((path.relative_to(root).as_posix(), path) for path in root.rglob("*")
                   if path.is_file())
    return {relative: path.read_bytes() for relative, path in files
            if relative != MANIFEST_NAME}


def _manifest_of(files: dict[str, bytes]) -> str:
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {relative}\n"
                   for relative, data in files.items())


def manifest_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_names(names: tuple[str, ...] | list[str], where: str) -> None:
    """A ``UsageError`` for a pack name that is not one of ``PACK_NAMES``."""
    for name in names:
        if name not in PACK_NAMES:
            raise UsageError(f"{where}: unknown rule pack {name!r}",
                             hint=f"known packs: {', '.join(PACK_NAMES)}")


# The controls of each pack folder verified in this process, read from the very
# bytes that were checked against the pin.
_VERIFIED: dict[Path, tuple[Control, ...]] = {}


def rule_pack(name: str, tools_dir: Path | None = None) -> RulePack:
    """The installed pack ``name``, verified against its pinned manifest digest."""
    from blueprint.guard import RulePack

    check_names([name], "--pack")
    root = pack_root(name, tools_dir)
    files = _verify(root)
    _VERIFIED[(root / GUARD_DIR).resolve()] = _controls_of(files)
    return RulePack(root / GUARD_DIR, mandatory=False)


def _verify(root: Path) -> dict[str, bytes]:
    if not (root / GUARD_DIR).is_dir() or not (root / METADATA_DIR).is_dir():
        raise ToolError(f"the Control Tower rules are not installed at {root}",
                        hint=PACK_INSTALL_HINT)
    try:
        files = _files(root)
    except OSError as err:
        raise ToolError(f"cannot read the Control Tower rules at {root}: {err}",
                        hint=PACK_INSTALL_HINT) from err
    if manifest_digest(_manifest_of(files)) != CONTROL_TOWER_RULES_SHA256:
        raise ToolError(f"the Control Tower rules at {root} are not the pinned ones "
                        "(a file is missing, added or altered)",
                        hint=f"reinstall them: {PACK_INSTALL_HINT} with --force")
    return files


def has_control_metadata(guard_dir: Path) -> bool:
    """A rules folder in the Control Tower layout: ``metadata/`` beside ``cfn-guard/``."""
    return guard_dir.name == GUARD_DIR and (guard_dir.parent / METADATA_DIR).is_dir()


def controls(guard_dir: Path) -> tuple[Control, ...]:
    """Every control of a Control Tower layout folder, from its rule and metadata files."""
    known = _VERIFIED.get(guard_dir.resolve())
    if known is not None:
        return known
    root = guard_dir.parent
    try:
        files = {f"{sub}/{relative}": data for sub in (GUARD_DIR, METADATA_DIR)
                 for relative, data in _files(root / sub).items()}
    except OSError as err:
        raise ToolError(f"cannot read the controls at {root}: {err}",
                        hint=PACK_INSTALL_HINT) from err
    return _controls_of(files)


def _controls_of(files: dict[str, bytes]) -> tuple[Control, ...]:
    result = []
    for relative in sorted(files):
        folder, _, name = relative.rpartition("/")
        if not relative.startswith(f"{GUARD_DIR}/") or not name.endswith(".guard"):
            continue
        meta_name = f"{METADATA_DIR}{folder[len(GUARD_DIR):]}/{name[:-6]}.metadata.json"
        try:
            names = set(_REPORTED_RULE.findall(files[relative].decode("utf-8")))
            meta = json.loads(files[meta_name])
        except (KeyError, UnicodeError, ValueError) as err:
            raise ToolError(f"cannot read the control {relative}: {err!r}",
                            hint=PACK_INSTALL_HINT) from err
        if len(names) != 1 or not isinstance(meta, dict) \
                or not isinstance(meta.get("Id"), str):
            raise ToolError(f"the control {relative} is not one rule with an Id in its "
                            "metadata", hint=PACK_INSTALL_HINT)
        docs = [ref.get("Url") for ref in meta.get("DocumentationReferences") or []
                if isinstance(ref, dict)]
        result.append(Control(
            control_id=meta["Id"], rule_name=names.pop(),
            display_name=str(meta.get("DisplayName") or meta["Id"]),
            description=str(meta.get("Description") or ""),
            remediation=str(meta.get("RemediationMessage") or ""),
            documentation=tuple(str(url) for url in docs if url)))
    return tuple(result)

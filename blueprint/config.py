"""Project settings from ``[tool.blueprint]`` in ``pyproject.toml``, and file discovery.

    [tool.blueprint]
    include = ["**/*.blueprint.yml", "blueprints/**/*.yml"]   # blueprints to check
    exclude = ["examples/broken/**"]                          # never checked
    templates = ["cfn/**/*.yml"]            # CloudFormation templates to gate too
    rules = ["policies/extra"]              # extra Guard rule directories (advisory)
    pack = ["control-tower"]                # installed rule packs to add (advisory)
    fail-on = "warning"                     # "error" (default) or "warning"

Every key is optional; an unknown key, a wrong type or an unreadable file is
a ``UsageError`` naming the file and the key.

Globs are matched against paths relative to the project root, with ``/``
separators: ``*`` and ``?`` stay within one directory, ``**/`` spans any
number of directories (none included), ``[...]`` is a character class. An
``exclude`` glob that matches a directory excludes everything below it.
Discovery never enters ``.git``, ``.venv``, ``node_modules``, ``.tox`` (nor
Python and tool caches), and does not follow symbolic links to directories.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blueprint.errors import UsageError

if TYPE_CHECKING:
    from blueprint.finding import Severity
    from blueprint.pipeline import ValidateOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_INCLUDE: tuple[str, ...] = (
    "**/*.blueprint.yml",
    "**/*.blueprint.yaml",
    "blueprints/**/*.yml",
    "blueprints/**/*.yaml",
)
FAIL_ON_CHOICES = ("error", "warning")
SKIP_DIRS = frozenset({".git", ".venv", "node_modules", ".tox", "__pycache__",
                       ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"})
_LIST_KEYS = ("include", "exclude", "templates", "rules", "pack")
KEYS = (*_LIST_KEYS, "fail-on")


@dataclass(frozen=True)
class Config:
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    # Extra Guard rule directories, resolved against the project root.
    rules: tuple[Path, ...] = ()
    # Installed rule packs by name (``blueprint.packs.PACK_NAMES``).
    packs: tuple[str, ...] = ()
    # None when pyproject.toml does not set it: the command line's default applies.
    fail_on: str | None = None
    # The pyproject.toml read, None when there was none (or no [tool.blueprint]).
    source: Path | None = field(default=None, compare=False)


def load_config(root: Path) -> Config:
    """``[tool.blueprint]`` of ``root/pyproject.toml``; the defaults when either is absent."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: cannot be read: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path}: not valid TOML: {err}") from None
    tool = data.get("tool", {})
    section = tool.get("blueprint") if isinstance(tool, dict) else None
    if section is None:
        return Config()
    if not isinstance(section, dict):
        raise UsageError(f"{path}: [tool.blueprint] must be a table")
    for key in section:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.6)
            raise UsageError(
                f"{path}: [tool.blueprint] has an unknown key {key!r}",
                hint=f"did you mean {close[0]!r}?" if close
                else f"known keys: {', '.join(KEYS)}")
    lists = {key: _string_list(path, key, section[key]) for key in _LIST_KEYS if key in section}
    fail_on = section.get("fail-on")
    if fail_on is not None and fail_on not in FAIL_ON_CHOICES:
        raise UsageError(f"{path}: [tool.blueprint] fail-on must be \"error\" or \"warning\", "
                         f"got {fail_on!r}")
    for key in ("include", "exclude", "templates"):
        for pattern in lists.get(key, ()):
            _check_glob(path, key, pattern)
    _check_pack_names(path, lists.get("pack", ()))
    return Config(
        include=lists.get("include", DEFAULT_INCLUDE),
        exclude=lists.get("exclude", ()),
        templates=lists.get("templates", ()),
        rules=tuple(root / entry for entry in lists.get("rules", ())),
        packs=lists.get("pack", ()),
        fail_on=fail_on,
        source=path,
    )


def gate_options(*, lint: bool = True, fail_on: str | None = None,
                 extra_rules: list[str] | None = None, packs: list[str] | None = None,
                 use_cache: bool = True) -> tuple[ValidateOptions, Severity]:
    """The checks and threshold a run enforces: the command line, then [tool.blueprint].

    ``validate``, ``deploy`` and ``plan`` all gate with this, so a blueprint that
    passes `blueprint validate` here is one they accept, and no other. ``packs``
    (``--pack``) adds to the config's ``pack``; a pack that is not installed as
    pinned is a ``ToolError`` (exit 2).
    """
    # Deferred: reading the settings must not load the checkers.
    from blueprint import packs as named_packs
    from blueprint.finding import Severity
    from blueprint.guard import RulePack, default_rule_packs
    from blueprint.pipeline import ValidateOptions

    config = load_config(Path.cwd())
    named_packs.check_names(packs or [], "--pack")
    rule_packs = list(default_rule_packs())
    for directory in [*(extra_rules or []), *map(str, config.rules)]:
        if not Path(directory).is_dir():
            raise UsageError(f"--rules {directory}: not a directory")
        rule_packs.append(RulePack(Path(directory), mandatory=False))
    for name in dict.fromkeys([*(packs or []), *config.packs]):
        rule_packs.append(named_packs.rule_pack(name))
    threshold = Severity(fail_on or config.fail_on or "error")
    return ValidateOptions(lint=lint, rule_packs=tuple(rule_packs), use_cache=use_cache), \
        threshold


def _string_list(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise UsageError(f"{path}: [tool.blueprint] {key} must be a list of strings, "
                         f"got {value!r}")
    return tuple(value)


def _check_pack_names(path: Path, names: tuple[str, ...]) -> None:
    from blueprint.packs import PACK_NAMES

    for name in names:
        if name not in PACK_NAMES:
            close = difflib.get_close_matches(name, PACK_NAMES, n=1, cutoff=0.6)
            raise UsageError(f"{path}: [tool.blueprint] pack: unknown rule pack {name!r}",
                             hint=f"did you mean {close[0]!r}?" if close
                             else f"known packs: {', '.join(PACK_NAMES)}")


def _check_glob(path: Path, key: str, pattern: str) -> None:
    if pattern.startswith("/") or ".." in pattern.split("/") or "\\" in pattern:
        raise UsageError(f"{path}: [tool.blueprint] {key}: {pattern!r} must be a relative "
                         "glob with / separators inside the project")
    try:
        glob_regex(pattern)
    except re.error as err:
        raise UsageError(f"{path}: [tool.blueprint] {key}: invalid glob {pattern!r}: "
                         f"{err}") from None


@cache
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex matching the relative posix paths ``pattern`` matches."""
    pattern = pattern.removeprefix("./")
    out, i, n = "", 0, len(pattern)
    while i < n:
        char = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif char == "*":
            out += "[^/]*"
            i += 1
        elif char == "?":
            out += "[^/]"
            i += 1
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern.startswith(("[!", "[^"), i) else i + 1)
            if end < 0:
                out += re.escape(char)
                i += 1
            else:
                body = pattern[i + 1:end]
                if body.startswith(("!", "^")):
                    body = "^" + body[1:]
                out += f"[{body.replace(chr(92), chr(92) * 2)}]"
                i = end + 1
        else:
            out += re.escape(char)
            i += 1
    return re.compile(out.rstrip("/") + r"\Z")


def matches(relative: str, patterns: tuple[str, ...]) -> bool:
    return any(glob_regex(p).match(relative) for p in patterns)


def _excluded(relative: str, exclude: tuple[str, ...]) -> bool:
    """The path or one of its parent directories matches an exclude glob."""
    parts = relative.split("/")
    return any(matches("/".join(parts[:end]), exclude) for end in range(1, len(parts) + 1))


def discover(root: Path, config: Config) -> list[str]:
    """Sorted root-relative posix paths of the blueprints and templates to check."""
    wanted = config.include + config.templates
    found: set[str] = set()
    for directory, dirnames, filenames in os.walk(root):
        base = Path(directory).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS
                             and not _excluded(prefix + d, config.exclude))
        for name in filenames:
            relative = prefix + name
            if matches(relative, wanted) and not _excluded(relative, config.exclude):
                found.add(relative)
    return sorted(found)

"""Where the shipped rules and schemas live, installed or in a checkout.

A wheel carries them as ``blueprint/_data/{rules,schemas}``; a source
checkout (and an editable install) has them at the repository root.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
# Where templates are linted and deployed when nothing says otherwise.
DEFAULT_REGION = "us-east-1"


@cache
def data_dir(name: str) -> Path:
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"blueprint is installed without its {name}/ directory")


def user_cache_dir(env_override: str, leaf: str) -> Path:
    """``$env_override``, else ``$XDG_CACHE_HOME/blueprint/<leaf>``, else ``~/.cache/...``."""
    configured = os.environ.get(env_override)
    if configured:
        return Path(configured)
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "blueprint" / leaf


def rules_dir() -> Path:
    return data_dir("rules")


def schemas_dir() -> Path:
    return data_dir("schemas")


def blueprint_schema_path() -> Path:
    return schemas_dir() / "blueprint.schema.json"

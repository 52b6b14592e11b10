"""Every output format renders the same ``Report``; none of them prints."""

from __future__ import annotations

from collections.abc import Callable

from blueprint.finding import Report
from blueprint.formatters import json_format, text

Formatter = Callable[[Report], str]

FORMATS: dict[str, Formatter] = {
    "text": text.render,
    "json": json_format.render,
}

"""Every output format renders the same ``Report``; none of them prints.

Each formatter is ``render(report) -> str``: deterministic (no timestamps;
findings in ``Finding.sort_key`` order) and pure, except that ``markdown``
reads the blueprints the report names to draw their architecture diagrams. ``junit`` and
``markdown`` also take a keyword ``fail_on`` (default ``Severity.ERROR``) for
their pass/fail verdict (``THRESHOLD_FORMATS``), so they follow ``--fail-on``.
"""

from __future__ import annotations

from collections.abc import Callable

from blueprint.finding import Report
from blueprint.formatters import github, json_format, junit, markdown, sarif, text

Formatter = Callable[[Report], str]
ThresholdFormatter = Callable[..., str]

FORMATS: dict[str, Formatter] = {
    "text": text.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "github": github.render,
    "markdown": markdown.render,
}

THRESHOLD_FORMATS: dict[str, ThresholdFormatter] = {
    "junit": junit.render,
    "markdown": markdown.render,
}


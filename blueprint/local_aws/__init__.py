"""Embedded local AWS endpoint (moto server plus fidelity fixes) for blueprint.

Importing this package is cheap; moto is imported when a server starts in this
process or the fixes are applied. ``start_local_aws`` (what ``--local`` uses)
runs the endpoint in a child process and never imports moto here.
"""

from __future__ import annotations

from blueprint.local_aws.fixes import FIXES, Fix, applied_fixes, apply_fixes
from blueprint.local_aws.server import (
    LocalAws,
    serve_forever,
    start_in_process,
    start_local_aws,
)

__all__ = [
    "FIXES",
    "Fix",
    "LocalAws",
    "applied_fixes",
    "apply_fixes",
    "serve_forever",
    "start_in_process",
    "start_local_aws",
]

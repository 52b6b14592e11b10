"""An offline preview of what an edit to a blueprint adds, modifies, removes and replaces.

``diff_renderings(old, new)`` compares two renderings (no AWS account needed) and
returns a ``StackDiff``; ``blueprint.diff.report`` turns one into text, JSON or
Markdown. Nothing here prints.
"""

from blueprint.diff.compare import diff_renderings, diff_templates
from blueprint.diff.model import (
    LOUD_TYPES,
    PARENT,
    Action,
    DeployTimeValue,
    ResourceChange,
    StackDiff,
)

__all__ = ["LOUD_TYPES", "PARENT", "Action", "DeployTimeValue", "ResourceChange", "StackDiff",
           "diff_renderings", "diff_templates"]

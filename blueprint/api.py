"""The library entry points: load, check, render. Nothing here prints or exits.

* ``validate(paths, options)``: every finding of every file, as one ``Report``;
* ``check_blueprint(path, options)``: the same check of one file, returning
  the bytes read, the typed blueprint and the rendering that were checked
  (what ``deploy`` and ``plan`` upload);
* ``load_blueprint(path)``: a blueprint's typed form without the policy checks;
* ``render(blueprint)``: the CloudFormation templates of a blueprint.

The work is done in ``blueprint.pipeline`` (the check),
``blueprint.tracing`` (findings back to the line written) and
``blueprint.kinds`` (blueprint or template); ``blueprint.catalog`` decides
which rules are mandatory.
"""

from __future__ import annotations

from blueprint.expander import Rendering, render
from blueprint.kinds import BLUEPRINT, TEMPLATE, TEMPLATE_SECTIONS, kind_of
from blueprint.pipeline import (
    CheckedBlueprint,
    ValidateOptions,
    check_blueprint,
    load_blueprint,
    validate,
)

__all__ = [
    "BLUEPRINT",
    "TEMPLATE",
    "TEMPLATE_SECTIONS",
    "CheckedBlueprint",
    "Rendering",
    "ValidateOptions",
    "check_blueprint",
    "kind_of",
    "load_blueprint",
    "render",
    "validate",
]

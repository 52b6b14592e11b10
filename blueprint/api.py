"""The library entry points: load, check, render. Nothing here prints or exits.

* ``validate(paths, options)``: every finding of every file, as one ``Report``;
* ``check_blueprint(path, options)``: the same check of one file, returning
  the bytes read, the typed blueprint and the rendering that were checked
  (what ``deploy`` and ``plan`` upload);
* ``load_blueprint(path)``: a blueprint's typed form without the policy checks;
* ``render(blueprint)``: the CloudFormation templates of a blueprint;
* ``select_environment(doc, name)``: one environment's effective blueprint
  (``Environment``: its stack name, pins, data and where each value came from).

The work is done in ``blueprint.pipeline`` (the check),
``blueprint.tracing`` (findings back to the line written) and
``blueprint.kinds`` (blueprint or template); ``blueprint.catalog`` decides
which rules are mandatory.
"""

from __future__ import annotations

from blueprint.environments import Environment, environment_names
from blueprint.environments import select as select_environment
from blueprint.expander import Rendering, render
from blueprint.kinds import BLUEPRINT, TEMPLATE, TEMPLATE_SECTIONS, kind_of
from blueprint.pipeline import (
    CheckedBlueprint,
    ValidateOptions,
    check_blueprint,
    load_blueprint,
    load_effective,
    validate,
)

__all__ = [
    "BLUEPRINT",
    "TEMPLATE",
    "TEMPLATE_SECTIONS",
    "CheckedBlueprint",
    "Environment",
    "Rendering",
    "ValidateOptions",
    "check_blueprint",
    "environment_names",
    "kind_of",
    "load_blueprint",
    "load_effective",
    "render",
    "select_environment",
    "validate",
]

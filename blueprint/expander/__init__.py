"""Blueprint -> the four CloudFormation templates (vpc, cluster, service, parent).

A pure function of the typed blueprint: no I/O beyond reading package data, no
clock, no randomness, so the same blueprint always renders byte-identical
templates.

The children hold their settings as literals: every value the blueprint
sets (instance types, counts, ports, image, CIDR ranges, log retention...) is
written where it is used, because the rendered files are what scanners,
reviewers and AWS Control Tower's proactive controls read, and none of them
can see through a ``!Ref`` to a parameter. The parent passes only wiring (the
VPC and its subnets, the cluster, its roles and capacity provider) and the
AMI, whose SSM path CloudFormation resolves on every deploy. Each literal
carries the blueprint field it comes from (``Part.details``).

One module per stack (``vpc``, ``cluster``, ``service``, ``parent``), each made
of small builders that return a resource with the blueprint field behind it
(``_build.Part``), so a finding in a rendered template traces back to the
blueprint (``Rendering.blueprint_field``). The resources follow the seed (the
"public facing API hosted on EC2" pattern) with its outdated parts fixed; each
fix is commented where it is made.
"""

from blueprint.expander.parent import stack_tags
from blueprint.expander.rendering import CHILD_STACKS, TEMPLATE_NAMES, Rendering, render
from blueprint.expander.vpc import subnet_cidrs

__all__ = ["CHILD_STACKS", "TEMPLATE_NAMES", "Rendering", "render", "stack_tags", "subnet_cidrs"]

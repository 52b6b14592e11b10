"""Blueprint -> the four CloudFormation templates (vpc, cluster, service, parent).

A pure function of the typed blueprint: no I/O beyond reading package data, no
clock, no randomness, so the same blueprint always renders byte-identical
templates.

The children are parameterised: every plain setting (instance type, counts,
ports, image, CIDR ranges...) is a parameter that the parent passes
explicitly, so two blueprints that differ only in those settings share
identical child templates. What is written into a child instead:

* ``vpc.yml``: the number of Availability Zones and the NAT mode;
* ``cluster.yml``: whether the AMI is named by an SSM parameter (and the
  policy's instance-type allow-list, which is not part of the blueprint);
* ``service.yml``: HTTP or HTTPS, whether the listener port is the protocol's
  default, autoscaling on or off, and -- values as well as names -- the
  environment variables, the secrets' ARNs (in the task definition and the IAM
  policy that reads them) and the ingress CIDRs of the load balancer.

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

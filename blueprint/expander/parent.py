"""parent.yml: the three nested stacks, each passed exactly the parameters it declares.

The parent holds no list of its own: a child's setting passes the blueprint
value the child declared, and a wired parameter passes the output of the same
name of the one other child that has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from blueprint.expander._build import (
    FORMAT_VERSION,
    ChildStack,
    Parameter,
    Part,
    Provenance,
    Template,
    get_att,
    parts_provenance,
    resources,
)
from blueprint.model import Blueprint


class NestedStack(NamedTuple):
    logical_id: str
    template_name: str
    child: ChildStack


def build(bp: Blueprint, stacks: Sequence[NestedStack]) -> tuple[Template, Provenance]:
    parts = [_nested_stack(bp, stack, stacks) for stack in stacks]
    template = {
        "AWSTemplateFormatVersion": FORMAT_VERSION,
        # Children are referenced by relative path, as `aws cloudformation package`
        # expects; `blueprint deploy` uploads them and rewrites the URLs. W3002 is
        # cfn-lint's reminder of exactly that, so it is silenced here and only here.
        "Metadata": {"cfn-lint": {"config": {"ignore_checks": ["W3002"]}}},
        "Description": bp.description or f"blueprint environment {bp.name}: VPC, ECS cluster "
                                          f"on EC2 and a load-balanced service",
        "Resources": resources(parts),
        "Outputs": {
            "ServiceUrl": {"Description": "Public URL of the service",
                           "Value": _output("ServiceStack", "ServiceUrl")},
            "LoadBalancerDnsName": {"Description": "DNS name of the load balancer",
                                    "Value": _output("ServiceStack", "LoadBalancerDnsName")},
            "ClusterName": {"Description": "The ECS cluster",
                            "Value": _output("ClusterStack", "ClusterName")},
            "ServiceName": {"Description": "The ECS service",
                            "Value": _output("ServiceStack", "ServiceName")},
            "VpcId": {"Description": "The VPC", "Value": _output("VpcStack", "VpcId")},
        },
    }
    return template, parts_provenance(parts)


def stack_tags(bp: Blueprint) -> list[dict[str, str]]:
    """The blueprint's tags (an environment's include ``environment: NAME``), as
    CloudFormation tags. Nothing is added: AWS tags every resource with its stack's
    name and id already, and a tag naming the blueprint would contradict the
    environment's stack name (orders next to orders-prod)."""
    return [{"Key": key, "Value": value} for key, value in sorted(bp.tags)]


def _nested_stack(bp: Blueprint, stack: NestedStack, stacks: Sequence[NestedStack]) -> Part:
    settings = stack.child.settings
    parameters = {p.name: _wired_value(p, stack, stacks) for p in stack.child.wired}
    parameters.update({p.name: _parameter_value(p.value) for p in settings})
    properties: dict[str, Any] = {"TemplateURL": stack.template_name}
    if parameters:
        properties["Parameters"] = parameters
    # AWS copies a parent's stack tags to nested stacks; saying so here keeps
    # them on every stack however the parent is deployed.
    if bp.tags:
        properties["Tags"] = stack_tags(bp)
    resource = {"Type": "AWS::CloudFormation::Stack", "Properties": properties}
    details = tuple((f"/Properties/Parameters/{p.name}", p.field) for p in settings
                    if p.field is not None)
    return Part(stack.logical_id, resource, stack.child.section, details)


def _wired_value(parameter: Parameter, stack: NestedStack,
                 stacks: Sequence[NestedStack]) -> dict[str, list[str]]:
    sources = [other.logical_id for other in stacks
               if other is not stack and parameter.name in other.child.outputs]
    if len(sources) != 1:
        raise ValueError(f"parameter {parameter.name} of {stack.logical_id} needs exactly one "
                         f"other stack with an output of that name, found {sources or 'none'}")
    return _output(sources[0], parameter.name)


def _output(stack: str, name: str) -> dict[str, list[str]]:
    return get_att(stack, f"Outputs.{name}")


def _parameter_value(value: Any) -> Any:
    """Nested stack parameters are strings; numbers are written as CloudFormation would."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return value

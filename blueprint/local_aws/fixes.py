
"""Fidelity fixes for moto's CloudFormation, applied inside the moto server process.

moto 5.2 cannot deploy blueprint's nested ECS-on-EC2 stacks as AWS would.  Each
gap is closed by one named fix, listed below; ``tests/local_aws/test_fixes.py``
(P1-P11) and ``tests/local_aws/test_fidelity.py`` (P12-P18) show each gap.
:func:`apply_fixes` applies them, and must run in the process that hosts the moto
server *before* the first CloudFormation request (``start_in_process`` does this;
``start_local_aws`` runs that in a child process, so the patches never reach a
process that validates).

Where moto has an extension point it is used: missing resource types and the ECS
and Auto Scaling group resource handlers are new ``CloudFormationModel``
subclasses (:mod:`blueprint.local_aws._moto_models`), which moto picks up from
``CloudFormationModel.__subclasses__()``.  The remaining fixes patch single moto
functions (the ECS API rules of P13 and P14 are in
:mod:`blueprint.local_aws._ecs_rules`); every patch is marked, so applying a fix
twice is a no-op, and keeps the original reachable as ``__wrapped__``.

=====  ==========================================================================
id     gap closed
=====  ==========================================================================
P1     ``Fn::GetAtt [Child, Outputs.Key]`` on a nested stack fails (HTTP 500) and
       the YAML short form ``!GetAtt A.Outputs.X`` is split on every dot.
P2     ``AWS::ECS::CapacityProvider`` is ignored (``Ref`` is None).
P3     ``AWS::ECS::ClusterCapacityProviderAssociations`` is ignored.
P4     ``AWS::ECS::TaskDefinition`` / ``AWS::ECS::Service`` drop network mode, cpu,
       execution role, awsvpc network configuration, load balancers, capacity
       provider strategy, placement and deployment configuration (create and
       update), and are never deleted.
P5     A custom resource whose Lambda cannot run (no Docker) never completes.
P6     After executing a change set the stack has no Outputs (and stale
       parameters/exports).
P7     Updating a nested stack deletes and recreates it (new name and id) instead
       of updating it in place.
P8     A change set's Changes omit resources modified only through changed
       parameter values, and list every resource without Properties as modified
       (which an update then acts on).
P9     A stack whose deletion fails vanishes (neither listed nor DELETE_FAILED).
P10    Route tables, NAT gateways, EIPs, internet gateways and ECS clusters are
       never deleted with their stack, so deleting the VPC stack fails.
P11    The ``Tags`` of an ``AWS::CloudFormation::Stack`` are ignored: nested
       stacks are created and updated without tags.
P12    A change of a create-only property of ``AWS::ECS::CapacityProvider``
       (``AutoScalingGroupProvider.AutoScalingGroupArn``, ``Name``,
       ``ClusterName``) updates it in place; AWS replaces it (a new generated
       name, the old provider deleted in the cleanup phase) and refuses to
       replace one whose explicit ``Name`` is unchanged.
P13    ``PutClusterCapacityProviders`` (hence an update of
       ``AWS::ECS::ClusterCapacityProviderAssociations``) removes a capacity
       provider that a service's strategy or a task on the cluster still uses;
       ECS fails with ResourceInUseException.  ``DeleteCapacityProvider``
       deletes a provider still associated with a cluster or used by a service;
       ECS leaves it ACTIVE with updateStatus DELETE_FAILED (so the resource's
       deletion fails).
P14    ``CreateCapacityProvider`` accepts any name: ECS rejects (ClientException)
       a name prefixed ``aws``, ``ecs`` or ``fargate`` in any case (as the name
       CloudFormation generates from a stack named ``ecs-orders`` is), one
       with other characters than letters, digits, ``_`` and ``-`` or longer
       than 255, a name in use, and an Auto Scaling group that another
       capacity provider already has.  (``DescribeCapacityProviders`` without
       names, which lists them all, fails with HTTP 500.)
P15    An update reaches a resource only when its own template entry or a
       parameter it names changed, in template order: a resource whose
       ``Ref``/``GetAtt`` target was replaced or changed (a new task definition
       revision, a launch template's ``LatestVersionNumber``) keeps stale values.
       Now resources are updated in dependency order whenever their resolved
       properties change, and replaced resources are deleted once the root
       stack's update succeeded (CloudFormation's cleanup phase).
P16    Every update of an ``AWS::AutoScaling::AutoScalingGroup`` deletes it and
       creates another under a new name.  AWS updates it in place, and replaces
       it only for a new ``AutoScalingGroupName`` or, under
       ``AutoScalingReplacingUpdate: WillReplace``, a change of its launch
       template/configuration, mixed instances policy, subnets or placement
       group.
P17    A stack's resources are deleted in arbitrary order (with retries), not
       dependents first, so a rule of P13 could fail a first pass.
P18    ``AWS::ElasticLoadBalancingV2::LoadBalancer`` ignores
       ``LoadBalancerAttributes`` (on create and update), so deletion protection
       is never on, and ``DeleteLoadBalancer`` deletes a load balancer whose
       protection is on.  ELBv2 refuses (OperationNotPermitted, "Load balancer
       'ARN' cannot be deleted because deletion protection is enabled"), through
       the API and when CloudFormation deletes the stack (DELETE_FAILED).
=====  ==========================================================================

What a local deploy still cannot show
-------------------------------------

The local endpoint runs the same templates through the same API calls, but these
behaviours of AWS are not simulated, so a local deploy that succeeds can still
fail, or behave differently, on AWS:

- **No rollback.** A failed create or update stays failed; AWS rolls back (and
  a rollback can itself fail, e.g. deleting instances protected from scale-in).
- **Failures are synchronous.** A resource that fails makes
  ``ExecuteChangeSet`` itself fail instead of the stack failing later.
- **Stack-level events only**: no per-resource ``*_IN_PROGRESS`` /
  ``*_FAILED`` events.  Change sets list only resources whose template entry
  or parameters changed (not those reached through a changed reference), with
  no ``Replacement``, ``Scope`` or ``Details``, and no nested stacks' changes.
- **Update policies and instance lifecycles are ignored**: no instance refresh
  or rolling update is run, no EC2 instance is launched, drained or
  terminated; ``AutoScalingReplacingUpdate`` only decides whether the group is
  replaced (P16).  Creation and update policies' signals and timeouts never
  apply.
- **No task placement**: a task is never checked against the CPU, memory or
  ports of an instance; services report ``runningCount == desiredCount`` at
  once; health checks, the deployment circuit breaker and managed scaling do
  not run, so a service that could never become stable deploys locally.
- **Custom resources' Lambdas do not run** without Docker (P5 answers SUCCESS).
- **S3 consistency**: versioning is effective at once, with no propagation
  delay; template URLs are readable immediately.
- **IAM is not enforced**: policies, roles, permission boundaries, KMS key
  policies and service-linked roles are stored, never evaluated.
- **Quotas and account state**: service quotas (rules per security group,
  capacity providers per cluster, ...), Availability Zones per region, AMI and
  SSM parameter contents, instance type availability and certificates are not
  those of a real account.
- **Replacement is per model, not per schema**: create-only properties are
  honoured for capacity providers (P12), Auto Scaling groups (P16), nested
  stacks (P7), task definitions, services and clusters; other moto models
  update in place (a target group keeps its old ``Port``) or recreate on any
  change, so ``blueprint diff`` is the authority on what AWS would replace.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DELETION_PROTECTION",
    "FIXES",
    "MOTO_ORIGINALS",
    "Fix",
    "applied_fixes",
    "apply_fixes",
    "deletion_protected_message",
    "dependency_order",
    "fix_by_id",
    "lambda_can_run",
    "original",
]

logger = logging.getLogger(__name__)

_MARK = "__blueprint_fix__"
_lock = threading.Lock()
_applied: list[str] = []


@dataclass(frozen=True)
class Fix:
    """One named fidelity fix: ``id`` (P1...), a short ``name`` and the ``gap`` it closes."""

    id: str
    name: str
    gap: str
    apply: Callable[[], None]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _is_marked(owner: Any, attr: str, fix_id: str) -> bool:
    current = owner.__dict__.get(attr)
    func = getattr(current, "__func__", current)
    return bool(getattr(func, _MARK, None) == fix_id)


def _patch(
    owner: Any, attr: str, fix_id: str, new: Callable[..., Any], *, kind: str = "function"
) -> None:
    """Set ``owner.attr = new`` (marked with ``fix_id``) unless already done."""
    if _is_marked(owner, attr, fix_id):
        return
    current = owner.__dict__.get(attr)
    new.__wrapped__ = getattr(current, "__func__", current)  # type: ignore[attr-defined]
    setattr(new, _MARK, fix_id)
    if kind == "classmethod":
        setattr(owner, attr, classmethod(new))
    else:
        setattr(owner, attr, new)


def original(owner: Any, attr: str) -> Callable[..., Any]:
    """moto's own (unpatched) function behind ``owner.attr``."""
    current = owner.__dict__[attr]
    func = getattr(current, "__func__", current)
    return getattr(func, "__wrapped__", func)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------
# P1: nested stack outputs via Fn::GetAtt
# ---------------------------------------------------------------------------


def _yaml_tag_constructor(loader: Any, tag: str, node: Any) -> Any:
    """moto's short-form intrinsic constructor, with ``!GetAtt A.B.C`` -> ``[A, "B.C"]``
    (CloudFormation splits the short form on the first dot only)."""
    import yaml

    if tag == "!GetAtt":
        value: Any = node.value
        if isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        elif isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        value = node.value
    key = "Ref" if tag == "!Ref" else f"Fn::{tag[1:]}"
    return {key: value}


setattr(_yaml_tag_constructor, _MARK, "P1")


def _stack_get_cfn_attribute(self: Any, attribute_name: str) -> Any:
    """``Fn::GetAtt [NestedStack, Outputs.Key]`` -> the nested stack's output value."""
    from moto.cloudformation.exceptions import (
        UnformattedGetAttTemplateException,
        ValidationError,
    )

    prefix = "Outputs."
    if not attribute_name.startswith(prefix):
        raise UnformattedGetAttTemplateException()
    key = attribute_name[len(prefix) :]
    output = self.output_map[key] if key in self.output_map.outputs else None
    if output is None:
        raise ValidationError(
            self.stack_id,
            message=f"Template error: stack {self.name} has no output named '{key}'",
        )
    return output.value


#: moto's own functions replaced by module attribute (kept for comparison in tests).
MOTO_ORIGINALS: dict[str, Callable[..., Any]] = {}


def _apply_p1() -> None:
    import yaml
    from moto.cloudformation import models, responses, utils

    if utils.yaml_tag_constructor is not _yaml_tag_constructor:
        MOTO_ORIGINALS.setdefault("yaml_tag_constructor", utils.yaml_tag_constructor)

    if not _is_marked(models.Stack, "get_cfn_attribute", "P1"):
        _patch(models.Stack, "get_cfn_attribute", "P1", _stack_get_cfn_attribute)
    # moto re-registers the constructor before every parse, by module-level name.
    for module in (utils, models, responses):
        module.yaml_tag_constructor = _yaml_tag_constructor  # type: ignore[attr-defined]
    yaml.add_multi_constructor("", _yaml_tag_constructor)


# ---------------------------------------------------------------------------
# P2-P4: CloudFormation models for ECS
# ---------------------------------------------------------------------------


def _register_models() -> None:
    """Make moto use the models of :mod:`blueprint.local_aws._moto_models`.

    moto maps CloudFormation types to ``CloudFormationModel.__subclasses__()`` in
    definition order, so defining the classes (importing the module, after moto's
    models) registers them; the lru caches are cleared in case moto built its map
    already.  P2, P3, P4, P10, P12, P16 and P18's model therefore take effect
    together.
    """
    from moto.cloudformation import parsing

    from blueprint.local_aws import _moto_models

    overrides = (*_moto_models.ECS_OVERRIDES, *_moto_models.DELETION_OVERRIDES,
                 *_moto_models.UPDATE_OVERRIDES)
    model_map = parsing.get_model_map()
    if all(model_map.get(m.cloudformation_type()) is m for m in overrides):
        return
    for cache in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cache.cache_clear()
    model_map = parsing.get_model_map()
    for model in overrides:
        model_map[model.cloudformation_type()] = model


# ---------------------------------------------------------------------------
# P5: custom resources complete at once when their Lambda cannot run
# ---------------------------------------------------------------------------


@functools.cache
def lambda_can_run() -> bool:
    """True when moto could run a Lambda (it needs a reachable Docker daemon)."""
    try:
        import docker  # type: ignore[import-untyped,unused-ignore]

        client = docker.from_env(timeout=2)
        client.ping()
        client.close()
    except Exception:
        return False
    return True


def _custom_create(
    cls: Any,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    """Create a custom resource; answer it SUCCESS at once if its Lambda cannot run."""
    from moto.awslambda.utils import get_backend as get_lambda_backend
    from moto.cloudformation.models import cloudformation_backends
    from moto.moto_api._internal import mock_random

    if lambda_can_run():
        return original(cls, "create_from_cloudformation_json")(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
    # As in AWS, the ServiceToken must name an existing function.
    from moto.cloudformation.exceptions import ValidationError

    service_token = cloudformation_json["Properties"]["ServiceToken"]
    try:
        get_lambda_backend(account_id, region_name).get_function(service_token)
    except Exception as exc:
        raise ValidationError(
            kwargs["StackId"],
            message=f"Template error: custom resource {kwargs['LogicalId']}: "
            f"ServiceToken {service_token} is not an existing Lambda function",
        ) from exc
    resource = cls(region_name, str(mock_random.uuid4()), kwargs["LogicalId"], resource_name)
    resource.set_data({})
    stack = cloudformation_backends[account_id][region_name].get_stack(kwargs["StackId"])
    stack.add_custom_resource(resource)
    return resource


def _apply_p5() -> None:
    from moto.cloudformation.custom_model import CustomModel

    _patch(CustomModel, "create_from_cloudformation_json", "P5", _custom_create, kind="classmethod")


# ---------------------------------------------------------------------------
# P6: Outputs/parameters/exports after ExecuteChangeSet
# ---------------------------------------------------------------------------


def _execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
    from moto.cloudformation.models import CloudFormationBackend

    original(CloudFormationBackend, "execute_change_set")(self, change_set_name, stack_name)
    change_set = self.describe_change_set(change_set_name)
    stack = self.stacks.get(change_set.stack_id)
    if stack is None:
        return
    # The stack was created from an empty template (or keeps the old one): re-read it.
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    if change_set.parameters:
        stack.parameters = dict(change_set.parameters)
    stack.output_map = stack._create_output_map()
    for export in stack.exports:
        self.exports[export.name] = export


def _apply_p6() -> None:
    from moto.cloudformation.models import CloudFormationBackend

    _patch(CloudFormationBackend, "execute_change_set", "P6", _execute_change_set)


# ---------------------------------------------------------------------------
# P7: nested stacks are updated in place
# ---------------------------------------------------------------------------


def _nested_stack_update(
    cls: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> Any:
    """Update the child stack (same name and id) with the new template and parameters."""
    from moto.cloudformation.utils import get_stack_from_s3_url
    from moto.utilities.utils import get_partition

    props = cloudformation_json["Properties"]
    template_body = get_stack_from_s3_url(
        props["TemplateURL"], account_id=account_id, partition=get_partition(region_name)
    )
    parameters = dict(props.get("Parameters") or {})
    original_resource.update(template_body, parameters=parameters)
    return original_resource


def _apply_p7() -> None:
    from moto.cloudformation.models import Stack

    if _is_marked(Stack, "update_from_cloudformation_json", "P11"):
        return  # P11's update already performs P7's
    _patch(Stack, "update_from_cloudformation_json", "P7", _nested_stack_update, kind="classmethod")


# ---------------------------------------------------------------------------
# P11: nested stacks carry their Tags
# ---------------------------------------------------------------------------


def _stack_tags(cloudformation_json: dict[str, Any]) -> dict[str, str]:
    tags = cloudformation_json.get("Properties", {}).get("Tags") or []
    return {str(tag["Key"]): str(tag["Value"]) for tag in tags
            if isinstance(tag, dict) and "Key" in tag and "Value" in tag}


def _nested_stack_create(
    cls: Any,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    """moto's nested-stack creation, then the resource's Tags set on the child stack."""
    create = original(cls, "create_from_cloudformation_json")
    stack = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    tags = _stack_tags(cloudformation_json)
    if tags:
        stack.tags = tags
    return stack


def _nested_stack_update_tagged(
    cls: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> Any:
    """P7's in-place update, then the resource's Tags set on the child stack."""
    stack = _nested_stack_update(cls, original_resource, new_resource_name,
                                 cloudformation_json, account_id, region_name)
    tags = _stack_tags(cloudformation_json)
    if tags:
        stack.tags = tags
    return stack


def _apply_p11() -> None:
    from moto.cloudformation.models import Stack

    _patch(Stack, "create_from_cloudformation_json", "P11", _nested_stack_create,
           kind="classmethod")
    # Supersedes P7's patch of the update (it calls P7's function itself).
    if not _is_marked(Stack, "update_from_cloudformation_json", "P11"):
        _patch(Stack, "update_from_cloudformation_json", "P11", _nested_stack_update_tagged,
               kind="classmethod")


# ---------------------------------------------------------------------------
# P8: change set Changes include parameter-driven modifications
# ---------------------------------------------------------------------------


def _normalized(resource: Any) -> Any:
    """A resource's template entry with ``Properties`` defaulted to ``{}`` (moto adds
    an empty ``Properties`` to the stored template while parsing, which made every
    resource without properties look modified)."""
    if not isinstance(resource, dict):
        return resource
    return {**resource, "Properties": resource.get("Properties") or {}}


def _parameter_references(resource: Any) -> set[str]:
    """Names a resource refers to through ``Ref`` or ``Fn::Sub`` ``${Name}``."""
    import json
    import re

    from moto.cloudformation.parsing import get_references_from_template

    names = set(get_references_from_template(resource))
    names.update(re.findall(r"\$\{([A-Za-z0-9:]+)\}", json.dumps(resource)))
    return names


def _build_resource_diff(
    self: Any, other_template: dict[str, Any], parameters: dict[str, Any] | None = None
) -> dict[str, list[str]]:
    """moto's diff, ignoring the ``Properties: {}`` moto adds and counting ``Fn::Sub``
    references when parameters change."""
    old = {k: _normalized(v) for k, v in self._resource_json_map.items()}
    new = {k: _normalized(v) for k, v in (other_template.get("Resources") or {}).items()}
    by_action: dict[str, list[str]] = {
        "Add": [name for name in new if name not in old],
        "Modify": [name for name in new if name in old and new[name] != old[name]],
        "Remove": [name for name in old if name not in new],
    }
    if parameters:
        changed = {p for p in parameters if self.input_parameters.get(p) != parameters[p]}
        for name, resource in new.items():
            if old.get(name) == resource and changed & _parameter_references(resource):
                by_action["Modify"].append(name)
    return by_action


def _change_set_diff(self: Any) -> list[Any]:
    """Changes of a change set, counting parameter-driven modifications."""
    from moto.cloudformation.models import Change

    resource_map = self.stack.resource_map
    by_action = resource_map.build_resource_diff(self.template_dict, self.parameters or None)
    new_resources = self.template_dict.get("Resources") or {}
    old_resources = resource_map._resource_json_map
    changes = []
    for action, names in by_action.items():
        source = old_resources if action == "Remove" else new_resources
        for name in dict.fromkeys(names):
            changes.append(
                Change(
                    action=action,
                    logical_resource_id=name,
                    resource_type=source[name]["Type"],
                )
            )
    return changes


def _apply_p8() -> None:
    from moto.cloudformation.models import ChangeSet
    from moto.cloudformation.parsing import ResourceMap

    _patch(ResourceMap, "build_resource_diff", "P8", _build_resource_diff)
    _patch(ChangeSet, "diff", "P8", _change_set_diff)


# ---------------------------------------------------------------------------
# P9: failed deletion -> DELETE_FAILED instead of a vanished stack
# ---------------------------------------------------------------------------


def _delete_stack(self: Any, name_or_stack_id: str) -> None:
    stack = self.stacks.get(name_or_stack_id)
    if stack is None:
        for candidate in list(self.stacks.values()):
            if candidate.name == name_or_stack_id:
                self._delete_stack_by_id(candidate.stack_id)
        return
    self._delete_stack_by_id(stack.stack_id)


def _delete_stack_by_id(self: Any, stack_id: str) -> None:
    stack = self.stacks[stack_id]
    export_names = [export.name for export in stack.exports]
    try:
        stack.delete()
    except Exception as exc:
        reason = getattr(exc, "message", None) or str(exc)
        stack.status = "DELETE_FAILED"
        stack._add_stack_event("DELETE_FAILED", resource_status_reason=reason)
        raise
    self.stacks.pop(stack_id, None)
    self.deleted_stacks[stack.stack_id] = stack
    for export_name in export_names:
        self.exports.pop(export_name, None)


def _delete_stack_action(self: Any) -> Any:
    """DeleteStack API: like AWS, a failed deletion is reported through the stack's
    status (DELETE_FAILED) and events, not as an error of the DeleteStack call."""
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import EmptyResult

    try:
        return original(CloudFormationResponse, "delete_stack")(self)
    except Exception:
        name = self._get_param("StackName")
        failed = [
            s
            for s in self.cloudformation_backend.stacks.values()
            if name in (s.name, s.stack_id) and s.status == "DELETE_FAILED"
        ]
        if not failed:
            raise
        return EmptyResult()


def _apply_p9() -> None:
    from moto.cloudformation.models import CloudFormationBackend
    from moto.cloudformation.responses import CloudFormationResponse

    _patch(CloudFormationBackend, "delete_stack", "P9", _delete_stack)
    _patch(CloudFormationResponse, "delete_stack", "P9", _delete_stack_action)
    if not hasattr(CloudFormationBackend, "_delete_stack_by_id"):
        setattr(_delete_stack_by_id, _MARK, "P9")
        setattr(CloudFormationBackend, "_delete_stack_by_id", _delete_stack_by_id)  # noqa: B010


# ---------------------------------------------------------------------------
# P13, P14: ECS capacity provider rules
# ---------------------------------------------------------------------------


def _apply_p13() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend

    from blueprint.local_aws import _ecs_rules

    _patch(EC2ContainerServiceBackend, "put_cluster_capacity_providers", "P13",
           _ecs_rules.put_cluster_capacity_providers)
    _patch(EC2ContainerServiceBackend, "delete_capacity_provider", "P13",
           _ecs_rules.delete_capacity_provider)


def _apply_p14() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend

    from blueprint.local_aws import _ecs_rules

    _patch(EC2ContainerServiceBackend, "create_capacity_provider", "P14",
           _ecs_rules.create_capacity_provider)
    _patch(EC2ContainerServiceBackend, "describe_capacity_providers", "P14",
           _ecs_rules.describe_capacity_providers)


# ---------------------------------------------------------------------------
# P15: updates in dependency order, reaching resources through references;
# P17: deletion in reverse dependency order
# ---------------------------------------------------------------------------

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9_]+)[.}]")


def _references(node: Any) -> set[str]:
    """Logical ids a template fragment names through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found.update(_SUB_NAME.findall(str(text)))
            found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found


def _depends_on(resources: dict[str, Any], name: str) -> list[str]:
    """The resources ``name`` references or names in DependsOn, in template order."""
    body = resources[name] if isinstance(resources[name], dict) else {}
    explicit = body.get("DependsOn") or []
    named = _references(body) | set([explicit] if isinstance(explicit, str) else explicit)
    return [other for other in resources if other in named and other != name]


def dependency_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids with every resource after those it references or depends on
    (template order otherwise; a cycle, which CloudFormation rejects, is cut)."""
    def depends_on(name: str) -> list[str]:
        return _depends_on(resources, name)

    ordered: dict[str, None] = {}
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered or name in visiting:
            return
        visiting.add(name)
        for other in depends_on(name):
            visit(other)
        visiting.discard(name)
        ordered[name] = None

    for name in resources:
        visit(name)
    return list(ordered)


_UNRESOLVED = object()


def _resolved(resource_map: Any, logical_id: str) -> Any:
    """A resource's properties with every intrinsic function resolved now."""
    from moto.cloudformation.parsing import clean_json

    body = resource_map._resource_json_map.get(logical_id)
    if not isinstance(body, dict):
        return _UNRESOLVED
    try:
        return clean_json(copy.deepcopy(body.get("Properties") or {}), resource_map)
    except Exception:
        return _UNRESOLVED


def _remove_resources(resource_map: Any, names: list[str]) -> None:
    """moto's removal of the resources a new template drops (with its retries)."""
    from moto.cloudformation.parsing import MAX_UPDATE_ATTEMPTS

    remaining = list(reversed([n for n in dependency_order(resource_map._resource_json_map)
                               if n in names]))
    last_exception: Exception | None = None
    for _ in range(MAX_UPDATE_ATTEMPTS):
        for name in list(remaining):
            try:
                if name in resource_map._parsed_resources:
                    resource_map._delete_resource(resource_map._parsed_resources[name],
                                                  resource_map._resource_json_map[name])
            except Exception as exc:
                last_exception = exc
            else:
                remaining.remove(name)
        if not remaining:
            return
    assert last_exception is not None
    raise last_exception


def _update_resources(self: Any, template: dict[str, Any],
                      parameters: dict[str, Any] | None = None) -> None:
    """ResourceMap.update: removals, then additions and updates in dependency order,
    updating a resource whose template entry changed *or* whose references now
    resolve to other values; replaced resources are deleted after the root update."""
    from moto.cloudformation.parsing import parse_and_update_resource

    from blueprint.local_aws._moto_models import update_phase

    with update_phase():
        before = {name: _resolved(self, name) for name in self._resource_json_map
                  if name in self._parsed_resources}
        by_action = self.build_resource_diff(template, parameters)
        _remove_resources(self, by_action["Remove"])
        self._template = template
        if parameters:
            self.input_parameters = parameters
        self.load_mapping()
        self.load_parameters()
        self.load_conditions()
        self._resource_json_map = template["Resources"]
        added, modified = set(by_action["Add"]), set(by_action["Modify"])
        for name in dependency_order(self._resource_json_map):
            if name in added:
                _ = self[name]
                continue
            if name not in self._parsed_resources:
                continue
            previous = before.get(name, _UNRESOLVED)
            now = _resolved(self, name)
            if name not in modified and (previous is _UNRESOLVED or now == previous):
                continue
            updated = parse_and_update_resource(name, self._resource_json_map[name], self,
                                                account_id=self._account_id,
                                                region_name=self._region_name)
            if updated is not None:  # moto stores None for models it cannot update
                self._parsed_resources[name] = updated


def _delete_resources(self: Any) -> None:
    """ResourceMap.delete: dependents first (moto tries every resource in any order
    and retries, so an ECS rule of P13 could fail a pass and leave DELETE_FAILED events).
    As in CloudFormation, what a resource that failed to delete depends on is kept."""
    resources = self._resource_json_map
    remaining = [name for name in reversed(dependency_order(resources))
                 if resources[name].get("DeletionPolicy") != "Retain"]
    last_exception: Exception | None = None
    dependencies = {name: set(_depends_on(resources, name)) for name in remaining}
    previous = len(remaining) + 1
    while remaining and len(remaining) < previous:
        previous = len(remaining)
        for name in list(remaining):
            # dependents come first in ``remaining`` (a cut cycle cannot block itself)
            if any(name in dependencies[other] for other in remaining[:remaining.index(name)]):
                continue
            parsed = self._parsed_resources.get(name)
            try:
                if parsed is not None and not isinstance(parsed, str):
                    self._delete_resource(parsed, self._resource_json_map[name])
                    self._parsed_resources.pop(name)
            except Exception as exc:
                last_exception = exc
            else:
                remaining.remove(name)
    if remaining and last_exception is not None:
        raise last_exception


def _apply_p15() -> None:
    from moto.cloudformation.parsing import ResourceMap

    _patch(ResourceMap, "update", "P15", _update_resources)


def _apply_p17() -> None:
    from moto.cloudformation.parsing import ResourceMap

    _patch(ResourceMap, "delete", "P17", _delete_resources)


# ---------------------------------------------------------------------------
# P18: load balancer attributes from the template; deletion protection enforced
# ---------------------------------------------------------------------------

DELETION_PROTECTION = "deletion_protection.enabled"


def deletion_protected_message(arn: str) -> str:
    """ELBv2's message for a DeleteLoadBalancer refused by deletion protection."""
    return f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled"


def _delete_load_balancer(self: Any, arn: str) -> None:
    """DeleteLoadBalancer: refused while ``deletion_protection.enabled`` is true (the
    stack deletion that reaches it then fails, DELETE_FAILED through P9)."""
    from moto.elbv2.exceptions import ELBClientError
    from moto.elbv2.models import ELBv2Backend

    balancer = self.load_balancers.get(arn)
    if balancer is not None and str(balancer.attrs.get(DELETION_PROTECTION)).lower() == "true":
        raise ELBClientError("OperationNotPermitted", deletion_protected_message(arn))
    original(ELBv2Backend, "delete_load_balancer")(self, arn)


def _apply_p18() -> None:
    from moto.elbv2.models import ELBv2Backend

    _register_models()
    _patch(ELBv2Backend, "delete_load_balancer", "P18", _delete_load_balancer)


# ---------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------

FIXES: tuple[Fix, ...] = (
    Fix(
        "P1",
        "nested-stack-outputs",
        "Fn::GetAtt [Child, Outputs.Key] on AWS::CloudFormation::Stack fails and "
        "!GetAtt A.Outputs.X is split on every dot",
        _apply_p1,
    ),
    Fix(
        "P2",
        "ecs-capacity-provider",
        "AWS::ECS::CapacityProvider has no moto model: skipped, Ref is None",
        _register_models,
    ),
    Fix(
        "P3",
        "ecs-cluster-capacity-provider-associations",
        "AWS::ECS::ClusterCapacityProviderAssociations has no moto model: skipped",
        _register_models,
    ),
    Fix(
        "P4",
        "ecs-task-definition-and-service-properties",
        "moto's ECS TaskDefinition/Service handlers drop network mode, cpu, roles, "
        "awsvpc config, load balancers, capacity provider strategy, placement",
        _register_models,
    ),
    Fix(
        "P5",
        "custom-resource-without-lambda-runtime",
        "a custom resource whose Lambda cannot run (no Docker) never completes",
        _apply_p5,
    ),
    Fix(
        "P6",
        "change-set-outputs",
        "after ExecuteChangeSet the stack's Outputs are empty and parameters stale",
        _apply_p6,
    ),
    Fix(
        "P7",
        "nested-stack-update-in-place",
        "a nested stack update deletes and recreates the child stack",
        _apply_p7,
    ),
    Fix(
        "P8",
        "change-set-parameter-changes",
        "change set Changes omit parameter-driven modifications and list spurious "
        "Modify for resources without Properties",
        _apply_p8,
    ),
    Fix(
        "P9",
        "delete-failed-status",
        "a stack whose deletion fails disappears instead of showing DELETE_FAILED",
        _apply_p9,
    ),
    Fix(
        "P10",
        "delete-stack-resources",
        "route tables, NAT gateways, EIPs, internet gateways and ECS clusters are not "
        "deleted with their stack, so the VPC stack's deletion fails (DependencyViolation)",
        _register_models,
    ),
    Fix(
        "P11",
        "nested-stack-tags",
        "the Tags property of AWS::CloudFormation::Stack is ignored: nested stacks are "
        "created and updated without tags",
        _apply_p11,
    ),
    Fix(
        "P12",
        "capacity-provider-replacement",
        "a change of AWS::ECS::CapacityProvider's AutoScalingGroupArn, Name or ClusterName "
        "updates it in place where AWS replaces it",
        _register_models,
    ),
    Fix(
        "P13",
        "capacity-provider-in-use",
        "PutClusterCapacityProviders removes, and DeleteCapacityProvider deletes, a "
        "capacity provider that a service or the cluster still uses",
        _apply_p13,
    ),
    Fix(
        "P14",
        "capacity-provider-name-rules",
        "CreateCapacityProvider accepts names prefixed aws/ecs/fargate, invalid characters, "
        "a taken name and an Auto Scaling group another provider already has; "
        "DescribeCapacityProviders without names fails",
        _apply_p14,
    ),
    Fix(
        "P15",
        "update-through-references",
        "updates run in template order and reach a resource only when its own entry or a "
        "parameter changed, not a Ref/GetAtt target; replaced resources are deleted at once",
        _apply_p15,
    ),
    Fix(
        "P16",
        "auto-scaling-group-update-in-place",
        "every update of an AWS::AutoScaling::AutoScalingGroup deletes it and creates "
        "another under a new name; AutoScalingReplacingUpdate is ignored",
        _register_models,
    ),
    Fix(
        "P17",
        "delete-in-dependency-order",
        "a stack's resources are deleted in arbitrary order (and retried), not dependents "
        "first",
        _apply_p17,
    ),
    Fix(
        "P18",
        "load-balancer-attributes-and-deletion-protection",
        "AWS::ElasticLoadBalancingV2::LoadBalancer ignores LoadBalancerAttributes, and "
        "DeleteLoadBalancer deletes a load balancer whose deletion protection is on",
        _apply_p18,
    ),
)


def fix_by_id(fix_id: str) -> Fix:
    for fix in FIXES:
        if fix.id == fix_id:
            return fix
    raise KeyError(fix_id)


def apply_fixes(ids: Iterable[str] | None = None) -> list[str]:
    """Apply the named fixes (all by default) to moto in this process; idempotent.

    Returns the ids of all fixes applied so far.
    """
    selected = [fix_by_id(i) for i in ids] if ids is not None else list(FIXES)
    with _lock:
        for fix in selected:
            fix.apply()
            if fix.id not in _applied:
                _applied.append(fix.id)
                logger.debug("applied moto fix %s (%s)", fix.id, fix.name)
        return list(_applied)


def applied_fixes() -> list[str]:
    """Ids of the fixes applied in this process."""
    return list(_applied)

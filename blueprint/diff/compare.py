"""Two renderings -> a ``StackDiff``: which resources are added, modified, removed, replaced.

A resource is replaced when a create-only property changes (cfn-lint's bundled
resource schemas), when its type changes, or when an Auto Scaling group with
``AutoScalingReplacingUpdate: WillReplace`` sees a change that triggers its
update policy. A replacement gives the resource a new physical id, so every
``Ref``/``Fn::GetAtt`` to it changes too -- across nested stacks through the
parent's parameters and the children's outputs -- which can in turn force the
replacement of a consumer (a new Auto Scaling group means a new capacity
provider). That is followed to a fixed point. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from blueprint.diff import schemas
from blueprint.diff.model import (
    PARENT,
    Action,
    DeployTimeValue,
    ResourceChange,
    StackDiff,
)
from blueprint.diff.resolve import (
    NESTED_STACK,
    Side,
    Template,
    Token,
    dynamic_references,
    parameters_in,
    tokens_in,
)
from blueprint.expander import Rendering

ASG = "AWS::AutoScaling::AutoScalingGroup"
# Changes that start an Auto Scaling group's update policy (CloudFormation's UpdatePolicy
# attribute page; the instance refresh adds the zones).
ASG_TRIGGERS = ("LaunchConfigurationName", "LaunchTemplate", "MixedInstancesPolicy",
                "VPCZoneIdentifier", "PlacementGroup", "AvailabilityZones", "AvailabilityZoneIds")
ROLLING_POLICIES = ("AutoScalingInstanceRefresh", "AutoScalingRollingUpdate")
# Attributes that change when their resource is only modified, not replaced.
VOLATILE_ATTRIBUTES = {
    "AWS::EC2::LaunchTemplate": frozenset({"LatestVersionNumber", "DefaultVersionNumber"}),
}
RESOURCE_ATTRIBUTES = ("UpdatePolicy", "DeletionPolicy", "UpdateReplacePolicy", "DependsOn",
                       "Condition", "Metadata")

Key = tuple[str, str]


# (template name, JSON pointer) -> the blueprint field behind it (``Rendering.blueprint_field``)
FieldOf = Callable[[str, str], "str | None"]


def diff_renderings(old: Rendering, new: Rendering) -> StackDiff:
    return diff_templates(old.templates, new.templates,
                          field_of=(old.blueprint_field, new.blueprint_field))


def diff_templates(old: Mapping[str, Template], new: Mapping[str, Template], *,
                   field_of: tuple[FieldOf, FieldOf] | None = None) -> StackDiff:
    """The diff of two sets of templates named as a ``Rendering`` names them (parent.yml...);
    ``field_of`` (old, new) names the blueprint field behind a node of each."""
    state = _State(Side(old), Side(new))
    while True:
        classified = (state.classify(*key) for key in state.resource_keys())
        changes = [change for change in classified if change is not None]
        replaced = {(c.stack, c.logical_id) for c in changes if c.action is Action.REPLACED}
        modified = {(c.stack, c.logical_id) for c in changes if c.action is Action.MODIFIED}
        if replaced == state.replaced and modified == state.modified:
            break
        state.replaced, state.modified = replaced, modified
    if field_of is not None:
        changes = [replace(c, fields=tuple(_fields(state, c, field_of))) for c in changes]
    return StackDiff(stacks=tuple(state.stacks()), changes=tuple(_with_nested(state, changes)),
                     warnings=tuple(state.warnings()), deploy_time=tuple(state.deploy_time()))


@dataclass
class _State:
    old: Side
    new: Side
    replaced: set[Key] = field(default_factory=set)
    modified: set[Key] = field(default_factory=set)
    _resolved: dict[tuple[str, Key], Any] = field(default_factory=dict)

    def stacks(self) -> list[str]:
        return list(dict.fromkeys([*self.new.stacks(), *self.old.stacks()]))

    def resource_keys(self) -> Iterator[Key]:
        for stack in self.stacks():
            names = [*self.new.resources(stack), *self.old.resources(stack)]
            for logical_id in dict.fromkeys(names):
                yield stack, logical_id

    def props(self, side: str, key: Key) -> Any:
        if (side, key) not in self._resolved:
            source = self.old if side == "old" else self.new
            self._resolved[side, key] = source.properties(*key)
        return self._resolved[side, key]

    def identity_changes(self, token: Token) -> bool:
        """Whether the value a token stands for is different after the update."""
        if token.kind != "resource":
            return False
        key = (token.stack, token.name)
        if key in self.replaced:
            return True
        volatile = VOLATILE_ATTRIBUTES.get(self._type(key), frozenset())
        return key in self.modified and (token.attribute in volatile
                                         or self._type(key).startswith("Custom::"))

    def _type(self, key: Key) -> str:
        return str(self.new.resources(key[0]).get(key[1], {}).get("Type", ""))

    def differs(self, old: Any, new: Any) -> bool:
        if isinstance(new, Token):
            return old != new or self.identity_changes(new)
        if isinstance(old, dict) and isinstance(new, dict):
            return old.keys() != new.keys() or any(self.differs(old[k], new[k]) for k in new)
        if isinstance(old, list) and isinstance(new, list):
            return len(old) != len(new) or any(map(self.differs, old, new))
        return bool(type(old) is not type(new) or old != new)

    def causes(self, new: Any) -> str:
        """Which resources' new identity changes a value: "X is replaced", "Y changes"."""
        replaced = [t.name for t in tokens_in(new) if (t.stack, t.name) in self.replaced]
        changed = [str(t) for t in tokens_in(new)
                   if self.identity_changes(t) and (t.stack, t.name) not in self.replaced]
        phrases = [f"{_names(replaced)} {'is' if len(set(replaced)) == 1 else 'are'} replaced"
                   if replaced else "", f"{_names(changed)} changes" if changed else ""]
        return " and ".join(phrase for phrase in phrases if phrase)

    def classify(self, stack: str, logical_id: str) -> ResourceChange | None:
        before = self.old.resources(stack).get(logical_id)
        after = self.new.resources(stack).get(logical_id)
        if after is None:
            return ResourceChange(stack, logical_id, str((before or {}).get("Type")),
                                  Action.REMOVED)
        if before is None:
            return ResourceChange(stack, logical_id, str(after.get("Type")), Action.ADDED)
        return _compare(self, (stack, logical_id), before, after)

    def warnings(self) -> Iterator[str]:
        for stack, logical_id in self.resource_keys():
            yield from _policy_warning(self, (stack, logical_id))

    def deploy_time(self) -> Iterator[DeployTimeValue]:
        for stack in self.new.stacks():
            for logical_id in self.new.resources(stack):
                for path, source in dynamic_references(self.props("new", (stack, logical_id))):
                    yield DeployTimeValue(stack, logical_id, path, source)


def _compare(state: _State, key: Key, before: Mapping[str, Any],
             after: Mapping[str, Any]) -> ResourceChange | None:
    resource_type = str(after.get("Type", ""))
    if before.get("Type") != resource_type:
        reason = f"its type changes from {before.get('Type')} to {resource_type}"
        return _replaced(state, key, resource_type, ("Type",), ("Type",), (reason,))
    old, new = state.props("old", key), state.props("new", key)
    changed = tuple(_changed_properties(state, old, new)) + tuple(
        name for name in RESOURCE_ATTRIBUTES if before.get(name) != after.get(name))
    if not changed:
        return None
    create_only = schemas.create_only(resource_type)
    forced = [path for path in create_only.always if _path_differs(state, old, new, path)]
    if forced:
        reasons = tuple(_create_only_reason(state, old, new, path) for path in forced)
        return _replaced(state, key, resource_type, changed, tuple(forced), reasons)
    if resource_type == ASG:  # its conditional paths are exactly its update-policy triggers
        return _auto_scaling_group(state, key, after, changed)
    conditional = [path for path in create_only.conditional
                   if _path_differs(state, old, new, path)]
    if conditional:
        reasons = tuple(f"{path} changes: CloudFormation may replace it" for path in conditional)
        return ResourceChange(*key, resource_type, Action.MODIFIED, changed, tuple(conditional),
                              reasons, may_replace=True)
    return ResourceChange(*key, resource_type, Action.MODIFIED, changed,
                          reasons=tuple(_modified_reasons(state, old, new, changed)))


def _changed_properties(state: _State, old: Any, new: Any, prefix: str = "") -> Iterator[str]:
    """Top-level properties that change; for a nested stack, each parameter passed."""
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    for name in dict.fromkeys([*new, *old]):
        if name in old and name in new and not state.differs(old[name], new[name]):
            continue
        if not prefix and name == "Parameters" and _is_nested_stack(new):
            yield from _changed_properties(state, old[name], new.get(name), "Parameters/")
        else:
            yield prefix + name


def _is_nested_stack(properties: Mapping[str, Any]) -> bool:
    return "TemplateURL" in properties


def _path_differs(state: _State, old: Any, new: Any, path: str) -> bool:
    return state.differs(schemas.values_at(old, path), schemas.values_at(new, path))


def _create_only_reason(state: _State, old: Any, new: Any, path: str) -> str:
    causes = state.causes(schemas.values_at(new, path))
    if causes:
        return f"{path} is create-only and changes because {causes}"
    before, after = schemas.values_at(old, path), schemas.values_at(new, path)
    if len(before) == len(after) == 1 and _plain(before[0]) and _plain(after[0]):
        return f"{path} is create-only ({before[0]} -> {after[0]})"
    return f"{path} is create-only"


def _names(names: list[str]) -> str:
    return ", ".join(dict.fromkeys(names))


def _at(node: Any, path: str) -> Any:
    for part in path.split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _plain(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and len(str(value)) <= 60


def _modified_reasons(state: _State, old: Any, new: Any, changed: tuple[str, ...]) -> Iterator[str]:
    for name in changed:
        value = _at(new, name)
        causes = state.causes(value) if value is not None else ""
        if causes:
            yield f"{name} changes because {causes}"


def _replaced(state: _State, key: Key, resource_type: str, changed: tuple[str, ...],
              forced: tuple[str, ...], reasons: tuple[str, ...]) -> ResourceChange:
    name = schemas.custom_name_property(resource_type)
    old, new = state.props("old", key), state.props("new", key)
    will_fail = bool(name and isinstance(new, dict) and name in new and isinstance(old, dict)
                     and name in old and not state.differs(old[name], new[name]))
    if will_fail:
        reasons = (*reasons, f"will fail: {name} stays {new[name]}, and CloudFormation cannot "
                             f"replace a resource with a custom name; give it a new name")
    return ResourceChange(*key, resource_type, Action.REPLACED, changed, forced, reasons,
                          will_fail=will_fail)


def _auto_scaling_group(state: _State, key: Key, after: Mapping[str, Any],
                        changed: tuple[str, ...]) -> ResourceChange:
    old, new = state.props("old", key), state.props("new", key)
    triggers = tuple(p for p in ASG_TRIGGERS if _path_differs(state, old, new, p))
    policy = after.get("UpdatePolicy") or {}
    if triggers and _will_replace(policy):
        reasons = tuple(f"{p} changes and its UpdatePolicy AutoScalingReplacingUpdate has "
                        f"WillReplace: true" for p in triggers)
        return _replaced(state, key, ASG, changed, triggers, reasons)
    rolling = next((name for name in ROLLING_POLICIES if name in policy), None)
    if triggers and rolling:
        reason = f"rolls instances ({rolling}): {', '.join(triggers)} changes"
        return ResourceChange(*key, ASG, Action.MODIFIED, changed, (), (reason,),
                              rolls_instances=True)
    reasons = tuple(_modified_reasons(state, old, new, changed))
    if triggers:
        reasons += ("no UpdatePolicy: running instances keep their old configuration",)
    return ResourceChange(*key, ASG, Action.MODIFIED, changed, reasons=reasons)


def _policy_warning(state: _State, key: Key) -> Iterator[str]:
    before = state.old.resources(key[0]).get(key[1])
    after = state.new.resources(key[0]).get(key[1])
    if before is None or after is None or after.get("Type") != ASG \
            or before.get("UpdatePolicy") == after.get("UpdatePolicy"):
        return
    old, new = state.props("old", key), state.props("new", key)
    triggers = [p for p in ASG_TRIGGERS if _path_differs(state, old, new, p)]
    if triggers:
        previous = before.get("UpdatePolicy") or {}
        consequence = "its old UpdatePolicy, AutoScalingReplacingUpdate WillReplace, would " \
                      "replace the group" if _will_replace(previous) else \
                      f"it applies the old UpdatePolicy ({', '.join(previous) or 'none'})"
        yield (f"{key[0]} {key[1]}: its UpdatePolicy changes in the same deploy as "
               f"{', '.join(triggers)}; if the update rolls back, {consequence}. Deploy the "
               f"UpdatePolicy change on its own first (a deploy that changes nothing else).")


def _will_replace(policy: Mapping[str, Any]) -> bool:
    replacing = policy.get("AutoScalingReplacingUpdate") or {}
    return isinstance(replacing, dict) and str(replacing.get("WillReplace")).lower() == "true"


def _with_nested(state: _State, changes: list[ResourceChange]) -> list[ResourceChange]:
    """A nested stack whose template has changes is itself modified, even when the
    parameters the parent passes stay the same."""
    changed_stacks = {c.stack for c in changes}
    listed = {(c.stack, c.logical_id) for c in changes}
    result = list(changes)
    for logical_id in state.new.children:
        if logical_id in changed_stacks and (PARENT, logical_id) not in listed:
            result.append(ResourceChange(PARENT, logical_id, NESTED_STACK, Action.MODIFIED,
                                         reasons=("its template changes",)))
    order = {key: index for index, key in enumerate(state.resource_keys())}
    return sorted(result, key=lambda c: order.get((c.stack, c.logical_id), len(order)))


def _fields(state: _State, change: ResourceChange,
            field_of: tuple[FieldOf, FieldOf]) -> Iterator[str]:
    """The blueprint fields behind a change: the parameters whose value changes in each
    changed property, else the property itself when no replaced resource explains it."""
    side, lookup = (state.old, field_of[0]) if change.action is Action.REMOVED \
        else (state.new, field_of[1])
    template = side.template_name(change.stack)
    resource_pointer = f"/Resources/{change.logical_id}"
    if change.action in (Action.ADDED, Action.REMOVED):
        found = [lookup(template, resource_pointer)]
    else:
        found = []
        for name in change.changed:
            if name not in RESOURCE_ATTRIBUTES:
                found += _property_fields(state, change, name, lookup)
    yield from dict.fromkeys(f for f in found if f)


def _property_fields(state: _State, change: ResourceChange, name: str,
                     lookup: FieldOf) -> list[str | None]:
    template = state.new.template(change.stack)
    raw = _at(template["Resources"][change.logical_id].get("Properties", {}), name)
    declared = template.get("Parameters") or {}
    parameters = [p for p in dict.fromkeys(parameters_in(raw, declared))
                  if state.differs(state.old.value(change.stack, {"Ref": p}),
                                   state.new.value(change.stack, {"Ref": p}))]
    template_name = state.new.template_name(change.stack)
    if parameters:
        return [lookup(template_name, f"/Parameters/{p}") for p in parameters]
    if state.causes(_at(state.props("new", (change.stack, change.logical_id)), name)):
        return []
    return [lookup(template_name, f"/Resources/{change.logical_id}/Properties/{name}")]

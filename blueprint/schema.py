"""Blueprint validation: the JSON Schema, then the cross-field rules it cannot express.

Every error becomes a ``Finding`` at the line of the blueprint that holds
the offending value (or key); all errors are collected before returning.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
from collections.abc import Iterator
from datetime import date
from functools import cache
from typing import Any

from blueprint.finding import Finding, Location, Severity, Source
from blueprint.loader import Document, Path
from blueprint.model import apply_defaults
from blueprint.policy_data import (
    USABLE_MEMORY_FACTOR,
    InstanceSize,
    allowed_instance_types,
    instance_size,
    instance_sizes,
)
from blueprint.resources import blueprint_schema_path

INSTANCE_TYPE_RULE = "BP107"
TASK_FIT_RULE = "BP108"
# CreateCapacityProvider: "The name can't be prefixed with "aws", "ecs", or "fargate"";
# ECS applies it in any letter case (a stack named EcsCp failed, aws/aws-cdk#36584).
# ECS documents no such prefix for service names, task families or container names.
RESERVED_NAME_PREFIXES = ("aws", "ecs", "fargate")
DESCRIPTION_MAX_BYTES = 1024  # CloudFormation's template Description, in UTF-8 bytes
# "Inbound or outbound rules per security group": 60 by default, counted separately for
# IPv4 and IPv6 rules (docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html).
# An account may have raised it, but blueprint cannot see that: it checks the default.
SECURITY_GROUP_RULE_QUOTA = 60


@cache
def load_schema() -> dict[str, Any]:
    with blueprint_schema_path().open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


def field_name(path: Path) -> str:
    """``("service", "secrets", "DB")`` -> ``service.secrets.DB``; list items as ``[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _subschema(schema: dict[str, Any], path: Path) -> dict[str, Any]:
    node = schema
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            props = node.get("properties", {})
            node = props.get(part) or (node.get("additionalProperties") or {})
            if not isinstance(node, dict):
                return {}
    return node


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Collector:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.findings: list[Finding] = []

    def add(self, rule_id: str, path: Path, message: str, hint: str | None = None, *,
            key: bool = False, severity: Severity = Severity.ERROR) -> None:
        self.findings.append(Finding(
            Source.SCHEMA, rule_id, severity, self.doc.location(path, key=key), message, hint,
            blueprint_path=field_name(path),
        ))


def check_blueprint(doc: Document) -> list[Finding]:
    """All schema and cross-field findings for a loaded blueprint."""
    import jsonschema  # deferred: validate of a template never needs it

    schema = load_schema()
    out = _Collector(doc)
    validator = jsonschema.Draft7Validator(schema)
    for error in sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.path))):
        _report_schema_error(out, schema, error)
    if not out.findings:
        # The cross-field checks see the defaults the schema declares, and no others.
        full = apply_defaults(schema, doc.data)
        for rule_id, path, message, hint in _cross_field(full, doc.data):
            out.add(rule_id, path, message, hint)
        for rule_id, path, message, hint in mutable_image_tag(full["service"]["image"]):
            out.add(rule_id, path, message, hint, severity=Severity.WARNING)
    return out.findings


MUTABLE_IMAGE_RULE = "BP109"


def mutable_image_tag(image: str) -> Iterator[CrossFieldFinding]:
    """A warning for an image named by ``:latest`` or by no tag (which means latest):
    the same blueprint could then deploy a different image tomorrow, and a rollback
    could not bring yesterday's back."""
    if "@sha256:" in image:
        return
    name_part = image.rsplit("/", 1)[-1]
    tag = name_part.split(":", 1)[1] if ":" in name_part else None
    if tag in (None, "latest"):
        shown = "no tag (latest)" if tag is None else "the tag :latest"
        yield (MUTABLE_IMAGE_RULE, ("service", "image"),
               f"service.image {image!r} is named by {shown}, which moves when a new "
               "image is pushed",
               "name a version tag that is never reused (e.g. :1.4.2), or a digest "
               "(@sha256:...); waive this warning with a reason if the tag is meant to move")


def _report_schema_error(out: _Collector, schema: dict[str, Any], error: Any) -> None:
    path: Path = tuple(error.absolute_path)
    name = field_name(path)
    sub = error.schema if isinstance(error.schema, dict) else {}
    keyword = error.validator
    description = sub.get("description")
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(_subschema(schema, path).get("properties", {}))
        for key in sorted(set(error.instance) - set(allowed)):
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else (
                f"allowed keys here: {', '.join(allowed)}")
            where = f"in {name}" if path else "at the top level"
            out.add("BP101", (*path, key), f"unknown key {key!r} {where}", hint, key=True)
    elif keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        child = _subschema(schema, (*path, missing))
        where = f"in {name}" if path else "at the top level"
        out.add("BP102", path, f"missing required key {missing!r} {where}",
                child.get("description"), key=True)
    elif keyword == "type":
        expected = sub.get("type")
        out.add("BP103", path, f"{name} must be {_article(expected)}, got {_short(error.instance)}",
                description)
    elif keyword in ("enum", "const"):
        options = sub.get("enum", [sub.get("const")])
        out.add("BP104", path,
                f"{name} must be {' or '.join(_short(o) for o in options)}, "
                f"got {_short(error.instance)}", description)
    elif keyword == "pattern":
        out.add("BP104", path, f"{name} has an invalid value {_short(error.instance)}",
                _pattern_hint(path, description, error.instance))
    elif keyword == "propertyNames":
        out.add("BP104", path, f"{name}: invalid name {_short(error.instance)}",
                "names may hold letters, digits and _ (environment variables), "
                "and may not start with a digit or 'aws:'", key=True)
    elif keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = "at least" if "inimum" in keyword else "at most"
        out.add("BP105", path, f"{name} must be {bound} {error.validator_value}, "
                               f"got {_short(error.instance)}", description)
    elif keyword in ("minLength", "maxLength", "minItems", "maxItems", "maxProperties",
                     "uniqueItems"):
        out.add("BP105", path, f"{name}: {error.message}", description)
    else:
        out.add("BP104", path, f"{name}: {error.message}", description)


def _article(kind: Any) -> str:
    names = {"integer": "an integer", "object": "a mapping", "array": "a list",
             "string": "a string", "boolean": "true or false", "number": "a number"}
    return names.get(str(kind), str(kind))


def _pattern_hint(path: Path, description: str | None, value: Any = None) -> str | None:
    if len(path) >= 2 and path[:2] == ("service", "secrets"):
        return _secret_arn_hint(value)
    if path and path[-1] == "cidr":
        return "an IPv4 CIDR with a /16 to /24 prefix, e.g. 10.0.0.0/16"
    return description


def _secret_arn_hint(value: Any) -> str:
    # ECS and IAM need the complete ARN: a secret's name alone matches no ARN, as
    # Secrets Manager appends a hyphen and 6 random characters to it.
    if isinstance(value, str) and ":secretsmanager:" in value and ":secret:" in value:
        return ("use the complete ARN of the secret, ending in the 6 characters Secrets "
                "Manager appends to its name (...:secret:NAME-AbCdEf); `aws secretsmanager "
                "describe-secret --secret-id NAME --query ARN` prints it")
    return ("secrets take the ARN of an SSM parameter or Secrets Manager secret "
            "(arn:aws:ssm:REGION:ACCOUNT:parameter/NAME or "
            "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf), never the value itself")


CrossFieldFinding = tuple[str, Path, str, str | None]


def _cross_field(data: dict[str, Any], given: dict[str, Any]) -> Iterator[CrossFieldFinding]:
    """What the schema cannot say, checked on ``data`` with every default filled in.

    ``given`` is the blueprint as written, only to point at a field the
    author wrote rather than at one a default supplied.
    """
    yield from _reserved_name(data["name"])
    yield from _description_bytes(data.get("description"))
    yield from _instance_type(data["cluster"])
    yield from _task_fits(data["cluster"], data["service"], given)
    yield from _capacity(data["cluster"], data["service"])
    yield from _health_check(data["service"]["healthCheck"])
    yield from _environment_clash(data["service"])
    yield from _listener(data["loadBalancer"])
    yield from _ingress_rule_quota(data["loadBalancer"])
    yield from _host_bits(data["network"], data["loadBalancer"])
    yield from _waiver_entries(data.get("waivers") or [])


def _instance_type(cluster: dict[str, Any]) -> Iterator[CrossFieldFinding]:
    instance_type = cluster["instanceType"]
    allowed = allowed_instance_types()
    if instance_type not in allowed:
        close = difflib.get_close_matches(instance_type, allowed, n=3, cutoff=0.6)
        yield (INSTANCE_TYPE_RULE, ("cluster", "instanceType"),
               f"instance type {instance_type!r} is not on the policy allow-list",
               f"use one of {', '.join(close or allowed[:6])} (full list: rules/data/)")


def _reserved_name(name: str) -> Iterator[CrossFieldFinding]:
    # The capacity provider has no Name of its own: CloudFormation names it
    # <stack>-CapacityProvider-<random>, and the cluster stack's name starts with ``name``.
    prefix = next((p for p in RESERVED_NAME_PREFIXES if name.lower().startswith(p)), None)
    if prefix is not None:
        yield ("BP104", ("name",),
               f"name {name!r} starts with {name[:len(prefix)]!r}, a prefix ECS reserves for "
               "capacity provider names",
               "the capacity provider is named after the stack, and ECS rejects capacity "
               "provider names starting with aws, ecs or fargate in any letter case: "
               f"rename it, e.g. 'app-{name}'")


def _description_bytes(description: str | None) -> Iterator[CrossFieldFinding]:
    size = len(description.encode("utf-8")) if description is not None else 0
    if size > DESCRIPTION_MAX_BYTES:
        yield ("BP105", ("description",),
               f"description is {size} bytes in UTF-8; CloudFormation allows at most "
               f"{DESCRIPTION_MAX_BYTES}",
               "shorten it: characters outside ASCII take 2 to 4 bytes each")


def _task_fits(cluster: dict[str, Any], service: dict[str, Any],
               given: dict[str, Any]) -> Iterator[CrossFieldFinding]:
    instance_type = cluster["instanceType"]
    if instance_type not in allowed_instance_types():
        return  # BP107 says so; only allow-listed types have a known size
    size = instance_size(instance_type)
    cpu, memory = service["cpu"], service["memory"]
    too_much = [field for field, wanted, has in (("cpu", cpu, size.cpu_units),
                                                ("memory", memory, size.usable_memory_mib))
                if wanted > has]
    if not too_much:
        return
    written = [("service", field) for field in too_much if field in given["service"]]
    if not written and "instanceType" in (given.get("cluster") or {}):
        written = [("cluster", "instanceType")]
    yield (TASK_FIT_RULE, written[0] if written else ("service",),
           f"a task of {cpu} CPU units and {memory} MiB does not fit on {instance_type} "
           f"({size.cpu_units} units, about {size.usable_memory_mib} MiB usable)",
           _task_fit_hint(instance_type, cpu, memory))


def _task_fit_hint(instance_type: str, cpu: int, memory: int) -> str:
    family = instance_type.split(".", maxsplit=1)[0]
    sizes = instance_sizes()
    fitting = sorted(
        (name for name in allowed_instance_types()
         if name in sizes and cpu <= sizes[name].cpu_units
         and memory <= sizes[name].usable_memory_mib),
        key=lambda name: (not name.startswith(f"{family}."), _size_order(sizes[name])))
    usable = f"{USABLE_MEMORY_FACTOR:.0%} of an instance's memory counts as usable by tasks"
    if fitting:
        return (f"lower service.cpu or service.memory, or use a larger instance type such as "
                f"{fitting[0]} ({usable})")
    return f"no allow-listed instance type is that large: lower service.cpu or service.memory " \
           f"({usable})"


def _size_order(size: InstanceSize) -> tuple[int, int]:
    return size.vcpus, size.memory_mib


def _capacity(cluster: dict[str, Any], service: dict[str, Any]) -> Iterator[CrossFieldFinding]:
    desired, max_size = cluster["desiredCapacity"], cluster["maxSize"]
    if max_size < desired:
        yield ("BP106", ("cluster", "maxSize"),
               f"cluster.maxSize ({max_size}) is less than cluster.desiredCapacity ({desired})",
               "raise maxSize or lower desiredCapacity")
    scaling = service.get("autoscaling")
    if scaling is None:
        return
    # desiredCount is not rendered for an autoscaled service (CloudFormation would reset the
    # running count on every update), so it is not compared with the range either.
    low, high = scaling["minCount"], scaling["maxCount"]
    if low > high:
        yield ("BP106", ("service", "autoscaling", "minCount"),
               f"autoscaling.minCount ({low}) is greater than maxCount ({high})",
               "swap them or raise maxCount")


def _health_check(health: dict[str, Any]) -> Iterator[CrossFieldFinding]:
    interval, timeout = health["intervalSeconds"], health["timeoutSeconds"]
    if timeout >= interval:
        yield ("BP106", ("service", "healthCheck", "timeoutSeconds"),
               f"healthCheck.timeoutSeconds ({timeout}) must be less than "
               f"intervalSeconds ({interval})", "lower the timeout or raise the interval")


def _environment_clash(service: dict[str, Any]) -> Iterator[CrossFieldFinding]:
    for name in sorted(set(service["environment"]) & set(service["secrets"])):
        yield ("BP106", ("service", "secrets", name),
               f"{name} is set both in service.environment and service.secrets",
               "keep it in one of the two (secrets for anything sensitive)")


def _listener(lb: dict[str, Any]) -> Iterator[CrossFieldFinding]:
    if lb["protocol"] == "HTTP" and "certificateArn" in lb:
        yield ("BP106", ("loadBalancer", "certificateArn"),
               "loadBalancer.certificateArn is set but protocol is HTTP",
               "set protocol: HTTPS to use the certificate, or remove certificateArn")
    if lb["protocol"] == "HTTPS" and lb["port"] == 80:
        yield ("BP106", ("loadBalancer", "port"),
               "with HTTPS, port 80 is taken by the HTTP-to-HTTPS redirect",
               "use port 443 (the default) or another port")


def ingress_rule_counts(lb: dict[str, Any]) -> dict[int, int]:
    """Inbound rules the load balancer's security group gets, per IP version (4, 6).

    As blueprint/expander/service.py renders them: one per CIDR for the listener
    port and, with HTTPS, one more per CIDR for the port-80 redirect listener.
    """
    per_cidr = 2 if lb["protocol"] == "HTTPS" else 1
    counts: dict[int, int] = {}
    for cidr in lb["ingressCidrs"]:
        version = ipaddress.ip_network(cidr, strict=False).version
        counts[version] = counts.get(version, 0) + per_cidr
    return counts


def _ingress_rule_quota(lb: dict[str, Any]) -> Iterator[CrossFieldFinding]:
    per_cidr = 2 if lb["protocol"] == "HTTPS" else 1
    for version, count in sorted(ingress_rule_counts(lb).items()):
        if count > SECURITY_GROUP_RULE_QUOTA:
            why = ("2 per CIDR: the HTTPS listener and the port-80 redirect"
                   if per_cidr == 2 else "1 per CIDR")
            yield ("BP105", ("loadBalancer", "ingressCidrs"),
                   f"loadBalancer.ingressCidrs needs {count} inbound IPv{version} rules "
                   f"({why}); a security group allows {SECURITY_GROUP_RULE_QUOTA} by default",
                   f"use at most {SECURITY_GROUP_RULE_QUOTA // per_cidr} CIDRs (merge adjacent "
                   "ranges); blueprint checks the default quota, not a raised one, and a "
                   "prefix list would count as its maximum number of entries")


def _host_bits(network: dict[str, Any], lb: dict[str, Any]) -> Iterator[CrossFieldFinding]:
    cidrs: list[tuple[Path, str]] = [(("network", "cidr"), network["cidr"])]
    cidrs += [(("loadBalancer", "ingressCidrs", index), cidr)
              for index, cidr in enumerate(lb["ingressCidrs"])]
    for path, cidr in cidrs:
        network_range = ipaddress.ip_network(cidr, strict=False)
        if str(network_range) != cidr:
            yield ("BP104", path, f"{field_name(path)} {cidr!r} has host bits set",
                   f"did you mean {network_range}? A range names its first address")


def _waiver_entries(waivers: list[dict[str, Any]]) -> Iterator[CrossFieldFinding]:
    seen: set[str] = set()
    for index, waiver in enumerate(waivers):
        rule = waiver["rule"]
        if rule in seen:
            yield ("BP106", ("waivers", index, "rule"), f"rule {rule!r} is waived twice",
                   "keep one waiver per rule")
        seen.add(rule)
        try:
            date.fromisoformat(waiver["expires"])
        except ValueError:
            yield ("BP104", ("waivers", index, "expires"),
                   f"waivers[{index}].expires {waiver['expires']!r} is not a real date",
                   "write the date as YYYY-MM-DD")


def location_of(doc: Document, dotted: str) -> Location:
    """The blueprint location of a dotted field name such as ``cluster.instanceType``."""
    path = tuple(dotted.split("."))
    return doc.location(path)

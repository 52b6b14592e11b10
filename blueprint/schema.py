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
from blueprint.policy_data import allowed_instance_types
from blueprint.resources import blueprint_schema_path

INSTANCE_TYPE_RULE = "BP107"


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


def check_blueprint(doc: Document, today: date | None = None) -> list[Finding]:
    """All schema and cross-field findings for a loaded blueprint."""
    import jsonschema  # deferred: validate of a template never needs it

    schema = load_schema()
    out = _Collector(doc)
    validator = jsonschema.Draft7Validator(schema)
    for error in sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.path))):
        _report_schema_error(out, schema, error)
    if not out.findings:
        for rule_id, path, message, hint in _cross_field(doc.data, today or date.today()):
            out.add(rule_id, path, message, hint)
    return out.findings


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
                _pattern_hint(path, description))
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


def _pattern_hint(path: Path, description: str | None) -> str | None:
    if len(path) >= 2 and path[:2] == ("service", "secrets"):
        return ("secrets take the ARN of an SSM parameter or Secrets Manager secret "
                "(arn:aws:ssm:REGION:ACCOUNT:parameter/NAME or "
                "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), never the value itself")
    if path and path[-1] == "cidr":
        return "an IPv4 CIDR with a /16 to /24 prefix, e.g. 10.0.0.0/16"
    return description


def _cross_field(data: dict[str, Any], today: date) -> Iterator[tuple[str, Path, str, str | None]]:
    cluster = data.get("cluster", {})
    service = data["service"]
    lb = data.get("loadBalancer", {})

    instance_type = cluster.get("instanceType", "c5.xlarge")
    allowed = allowed_instance_types()
    if instance_type not in allowed:
        close = difflib.get_close_matches(instance_type, allowed, n=3, cutoff=0.6)
        yield (INSTANCE_TYPE_RULE, ("cluster", "instanceType"),
               f"instance type {instance_type!r} is not on the policy allow-list",
               f"use one of {', '.join(close or allowed[:6])} (full list: rules/data/)")

    desired, max_size = cluster.get("desiredCapacity", 0), cluster.get("maxSize", 100)
    if max_size < desired:
        yield ("BP106", ("cluster", "maxSize"),
               f"cluster.maxSize ({max_size}) is less than cluster.desiredCapacity ({desired})",
               "raise maxSize or lower desiredCapacity")

    scaling = service.get("autoscaling")
    if scaling is not None:
        low, high = scaling["minCount"], scaling["maxCount"]
        if low > high:
            yield ("BP106", ("service", "autoscaling", "minCount"),
                   f"autoscaling.minCount ({low}) is greater than maxCount ({high})",
                   "swap them or raise maxCount")
        count = service.get("desiredCount", 2)
        if low <= high and not low <= count <= high:
            yield ("BP106", ("service", "desiredCount") if "desiredCount" in service
                   else ("service",),
                   f"service.desiredCount ({count}) is outside autoscaling "
                   f"minCount..maxCount ({low}..{high})",
                   "set desiredCount within the autoscaling range")

    health = service.get("healthCheck", {})
    interval, timeout = health.get("intervalSeconds", 6), health.get("timeoutSeconds", 5)
    if timeout >= interval:
        yield ("BP106", ("service", "healthCheck", "timeoutSeconds"),
               f"healthCheck.timeoutSeconds ({timeout}) must be less than "
               f"intervalSeconds ({interval})", "lower the timeout or raise the interval")

    clash = sorted(set(service.get("environment", {})) & set(service.get("secrets", {})))
    for name in clash:
        yield ("BP106", ("service", "secrets", name),
               f"{name} is set both in service.environment and service.secrets",
               "keep it in one of the two (secrets for anything sensitive)")

    protocol = lb.get("protocol", "HTTP")
    if protocol == "HTTP" and "certificateArn" in lb:
        yield ("BP106", ("loadBalancer", "certificateArn"),
               "loadBalancer.certificateArn is set but protocol is HTTP",
               "set protocol: HTTPS to use the certificate, or remove certificateArn")
    if protocol == "HTTPS" and lb.get("port", 443) == 80:
        yield ("BP106", ("loadBalancer", "port"),
               "with HTTPS, port 80 is taken by the HTTP-to-HTTPS redirect",
               "use port 443 (the default) or another port")

    cidrs: list[tuple[Path, str]] = []
    if "cidr" in data.get("network", {}):
        cidrs.append((("network", "cidr"), data["network"]["cidr"]))
    cidrs += [(("loadBalancer", "ingressCidrs", index), cidr)
              for index, cidr in enumerate(lb.get("ingressCidrs", []))]
    for path, cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        if str(network) != cidr:
            yield ("BP104", path, f"{field_name(path)} {cidr!r} has host bits set",
                   f"did you mean {network}? A range names its first address")

    seen: set[str] = set()
    for index, waiver in enumerate(data.get("waivers", [])):
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

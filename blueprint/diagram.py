"""The architecture a blueprint deploys, as a Mermaid flowchart or an SVG picture.

Both are drawn from one ``Architecture``: the facts of the typed blueprint that
decide what is deployed, derived as the expander derives them (the subnets'
CIDR ranges from ``subnet_cidrs``, one NAT gateway per zone or one in the first
zone, the HTTP listener that redirects to HTTPS, the security-group rules and
their ports). Resource names and other details of the templates are left out
so that a change to the templates does not redraw every diagram;
``tests/test_diagram.py`` holds the drawings to the rendered templates (the
subnets, NAT gateways and listeners found there by resource type).

Mermaid is what GitHub renders in a pull request (the ``markdown`` report
embeds it); the SVG is for a file a person opens. Both are pure and
deterministic: the same blueprint gives the same bytes, and every label is
escaped (Mermaid entity codes, XML escaping), so no value can break out of its
label. ``mermaid_of_file`` is the one function that reads a file.
"""

from __future__ import annotations

import ipaddress
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from blueprint.expander import subnet_cidrs
from blueprint.model import Blueprint

FORMATS = ("mermaid", "svg")


@dataclass(frozen=True)
class Zone:
    """One Availability Zone: its two subnets and the NAT gateway its tasks leave through."""

    number: int  # 1-based, in the order of the region's zones
    public_cidr: str
    private_cidr: str
    nat_zone: int  # the zone whose NAT gateway the private subnet routes to

    @property
    def has_nat(self) -> bool:
        return self.nat_zone == self.number


@dataclass(frozen=True)
class Listener:
    protocol: str  # "HTTP" | "HTTPS"
    port: int
    action: str


@dataclass(frozen=True)
class Architecture:
    title: str
    vpc_cidr: str
    zones: tuple[Zone, ...]
    listeners: tuple[Listener, ...]
    ingress_cidrs: tuple[str, ...]
    service: str
    container_port: int
    task_count: str
    instance_types: tuple[str, ...]  # in order of preference
    max_instances: int

    @property
    def listener_ports(self) -> str:
        return ", ".join(str(listener.port) for listener in self.listeners)


def architecture(blueprint: Blueprint, environment: str | None = None) -> Architecture:
    """What ``blueprint`` deploys, as ``blueprint.expander`` renders it."""
    network, lb, service = blueprint.network, blueprint.load_balancer, blueprint.service
    public, private = subnet_cidrs(network.cidr, network.availability_zones)
    single_nat = network.nat_gateways == "single"
    zones = tuple(Zone(number, public_cidr, private_cidr, 1 if single_nat else number)
                  for number, (public_cidr, private_cidr)
                  in enumerate(zip(public, private, strict=True), start=1))
    listeners = [Listener(lb.protocol, lb.port, "forward to the service")]
    if lb.https:
        listeners.append(Listener("HTTP", 80, f"redirect to HTTPS :{lb.port}"))
    scaling = service.autoscaling
    task_count = (_count(service.desired_count, "task") if scaling is None else
                  f"{scaling.min_count} to {scaling.max_count} tasks, "
                  f"CPU target {scaling.target_cpu_percent}%")
    return Architecture(
        title=blueprint.name if environment is None else f"{blueprint.name} · {environment}",
        vpc_cidr=str(ipaddress.ip_network(network.cidr, strict=False)),
        zones=zones,
        listeners=tuple(listeners),
        ingress_cidrs=lb.ingress_cidrs,
        service=service.name,
        container_port=service.port,
        task_count=task_count,
        instance_types=blueprint.cluster.instance_types,
        max_instances=blueprint.cluster.max_size,
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


# -- labels shared by both drawings ------------------------------------------------------------


def _alb_lines(arch: Architecture) -> list[str]:
    return ["Application Load Balancer", "internet-facing, in the public subnets",
            *(f"{lst.protocol} :{lst.port} → {lst.action}" for lst in arch.listeners)]


def _clients_edge_lines(arch: Architecture) -> list[str]:
    return [f"ALB SG: TCP {arch.listener_ports}", f"from {', '.join(arch.ingress_cidrs)}"]


def _service_edge_lines(arch: Architecture) -> list[str]:
    return [f"service SG: TCP {arch.container_port}", "from ALB SG only"]


def _subnet_lines(zone: Zone, kind: str) -> list[str]:
    cidr = zone.public_cidr if kind == "public" else zone.private_cidr
    return [f"AZ {zone.number} {kind} subnet", cidr]


def _nat_lines(zone: Zone, arch: Architecture) -> list[str]:
    if not zone.has_nat:
        return ["no NAT gateway", f"(AZ {zone.nat_zone}'s is shared)"]
    shared = any(other.nat_zone == zone.number != other.number for other in arch.zones)
    return ["NAT gateway", "shared by every AZ" if shared else f"for AZ {zone.number}"]


def _task_lines(arch: Architecture) -> list[str]:
    return [f"{arch.service} task", f"awsvpc, port {arch.container_port}"]


def _instance_type_lines(arch: Architecture) -> list[str]:
    types = arch.instance_types
    return [", ".join(types[start:start + 3]) for start in range(0, len(types), 3)]


def _host_lines(arch: Architecture) -> list[str]:
    return ["EC2 container host", *_instance_type_lines(arch)]


def _service_lines(arch: Architecture) -> list[str]:
    return [f"ECS service {arch.service}", arch.task_count]


def _capacity_lines() -> list[str]:
    return ["capacity provider", "managed scaling"]


def _asg_lines(arch: Architecture) -> list[str]:
    return ["Auto Scaling group", *_instance_type_lines(arch),
            f"0 to {_count(arch.max_instances, 'instance')}"]


def _vpc_lines(arch: Architecture) -> list[str]:
    zones = len(arch.zones)
    return [f"VPC {arch.vpc_cidr}", f"{zones} Availability Zone{'s' if zones > 1 else ''}"]


# -- Mermaid ------------------------------------------------------------------------------------

_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "&": "#amp;", "<": "#lt;", ">": "#gt;",
                     "`": "#96;", "|": "#124;"}


def mermaid_text(text: str) -> str:
    """``text`` safe inside a quoted Mermaid label: entity codes for every character
    that could end the label, start markup or a code fence; no line breaks."""
    return "".join(_MERMAID_ENTITIES.get(char, char) for char in " ".join(text.splitlines()))


def _label(lines: Sequence[str]) -> str:
    return '"' + "<br>".join(mermaid_text(line) for line in lines) + '"'


def mermaid(blueprint: Blueprint, *, environment: str | None = None) -> str:
    """The architecture as a Mermaid flowchart (what GitHub renders in Markdown).

    Laid out left to right as traffic flows: internet, load balancer, a box per
    Availability Zone (tasks and hosts in the private subnet, then the NAT
    gateway in the public one), internet; the ECS cluster beside it.
    """
    arch = architecture(blueprint, environment)
    # JSON is YAML for the front matter; no backtick, so that no code fence can close.
    title = json.dumps(arch.title.replace("`", "'"), ensure_ascii=False)
    lines = ["---", f"title: {title}", "---",
             "flowchart LR", '    clients(("Internet"))',
             f"    subgraph vpc[{_label([' · '.join(_vpc_lines(arch))])}]",
             f"        alb[{_label(_alb_lines(arch))}]"]
    for zone in arch.zones:
        lines += _indent(_mermaid_zone(arch, zone), 2)
    lines += ["    end",
              '    subgraph ecs["ECS cluster"]',
              f"        service[{_label(_service_lines(arch))}]",
              f"        capacity[{_label(_capacity_lines())}]",
              f"        asg[{_label(_asg_lines(arch))}]",
              "    end",
              '    internet(("Internet"))']
    lines += _indent(_mermaid_edges(arch), 1)
    return "\n".join(lines) + "\n"


def mermaid_of_file(path: str) -> list[tuple[str | None, str]]:
    """``(environment, Mermaid)`` for the blueprint at ``path``: one per environment,
    or one with ``None`` for a blueprint without environments. Nothing for a file
    that is not a blueprint (a template) or no longer loads: a report that embeds
    diagrams must not fail on one."""
    from blueprint.environments import environment_names
    from blueprint.errors import BlueprintError
    from blueprint.loader import load_file
    from blueprint.pipeline import load_effective

    doc, _ = load_file(path)
    if doc is None:
        return []
    drawn: list[tuple[str | None, str]] = []
    names: list[str | None] = [*environment_names(doc.data)] or [None]
    for env in names:
        try:
            _, _, blueprint, _ = load_effective(path, env)
        except (BlueprintError, OSError):
            continue
        if blueprint is not None:
            drawn.append((env, mermaid(blueprint, environment=env)))
    return drawn


def _edge_label(text: str) -> str:
    return f"|{_label([text])}|"


def _indent(lines: list[str], levels: int) -> list[str]:
    return ["    " * levels + line for line in lines]


def _mermaid_zone(arch: Architecture, zone: Zone) -> list[str]:
    number = zone.number
    nat = f"nat_{number}" if zone.has_nat else f"no_nat_{number}"
    return [f'subgraph az_{number}["AZ {number}"]',
            f"    subgraph private_{number}[{_label([f'private subnet {zone.private_cidr}'])}]",
            f"        task_{number}[{_label(_task_lines(arch))}]",
            f"        host_{number}[{_label(_host_lines(arch))}]",
            "    end",
            f"    subgraph public_{number}[{_label([f'public subnet {zone.public_cidr}'])}]",
            f"        {nat}[{_label(_nat_lines(zone, arch))}]",
            "    end",
            "end"]


def _mermaid_edges(arch: Architecture) -> list[str]:
    lines = [f"clients -->|{_label(_clients_edge_lines(arch))}| alb"]
    lines += [f"alb -->|{_label(_service_edge_lines(arch))}| task_{zone.number}"
              for zone in arch.zones]
    for zone in arch.zones:
        egress = _edge_label("egress 0.0.0.0/0") if zone.number == 1 else ""
        lines += [f"task_{zone.number} -->{egress} nat_{zone.nat_zone}",
                  f"host_{zone.number} --> nat_{zone.nat_zone}"]
        if not zone.has_nat:  # an invisible link keeps the empty public subnet in its column
            lines.append(f"task_{zone.number} ~~~ no_nat_{zone.number}")
    lines += [f"nat_{zone.number} --> internet" for zone in arch.zones if zone.has_nat]
    lines += ['service -.->|"capacity provider strategy"| capacity',
              'capacity -.->|"scales"| asg']
    # One label per kind of edge: the same words on every zone's edge are clutter.
    for source, target, label in (("service", "task", "places tasks"),
                                  ("asg", "host", "launches hosts")):
        lines += [f"{source} -.->{_edge_label(label) if zone.number == 1 else ''} "
                  f"{target}_{zone.number}" for zone in arch.zones]
    return lines


# -- SVG ----------------------------------------------------------------------------------------

_FONT = "Helvetica, Arial, sans-serif"
_LINE = 16  # pixels between text lines
_CHAR = 7.2  # average width of a 12 px character, for sizing boxes to their labels
_MARGIN = 20
_SUBNET_HEADER = 46  # a subnet box's two lines of title, above what it holds
_ROW_GAP = 20
_LEGEND = ("solid: traffic a security group admits · dashed: outbound through NAT · "
           "dotted: ECS placing tasks and scaling hosts")
_COLOURS = {  # fill, stroke
    "internet": ("#f2f2f2", "#666666"),
    "vpc": ("#ffffff", "#8c4fff"),
    "public": ("#e9f5e9", "#2e7d32"),
    "private": ("#e8f0fb", "#1f5fa8"),
    "alb": ("#f3e5f5", "#7b1fa2"),
    "node": ("#ffffff", "#555555"),
    "absent": ("#ffffff", "#aaaaaa"),
    "ecs": ("#fff3e0", "#e65100"),
}


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def middle(self) -> float:
        return self.y + self.height / 2


class _Canvas:
    """An SVG document under construction; ElementTree escapes every text and attribute."""

    def __init__(self, title: str) -> None:
        self.root = ET.Element("svg", {"xmlns": "http://www.w3.org/2000/svg",
                                       "font-family": _FONT, "font-size": "12"})
        ET.SubElement(self.root, "title").text = title
        marker = ET.SubElement(ET.SubElement(self.root, "defs"), "marker", {
            "id": "arrow", "viewBox": "0 0 10 10", "refX": "10", "refY": "5",
            "markerWidth": "7", "markerHeight": "7", "orient": "auto-start-reverse"})
        ET.SubElement(marker, "path", {"d": "M 0 0 L 10 5 L 0 10 z", "fill": "#444444"})
        # Edges over boxes, so that a line crossing a subnet's border stays visible.
        self.boxes = ET.SubElement(self.root, "g", {"id": "boxes"})
        self.edges = ET.SubElement(self.root, "g", {"id": "edges"})
        self.labels = ET.SubElement(self.root, "g", {"id": "edge-labels"})

    def box(self, box: Box, kind: str, lines: Sequence[str], *, centred: bool = True) -> None:
        fill, stroke = _COLOURS[kind]
        group = ET.SubElement(self.boxes, "g", {"class": kind})
        ET.SubElement(group, "rect", {
            "x": _n(box.x), "y": _n(box.y), "width": _n(box.width), "height": _n(box.height),
            "rx": "6", "fill": fill, "stroke": stroke,
            **({"stroke-dasharray": "4 3"} if kind == "absent" else {})})
        top = box.middle - (len(lines) - 1) * _LINE / 2 + 4 if centred else box.y + 18
        x = box.x + box.width / 2 if centred else box.x + 10
        for index, line in enumerate(lines):
            self._text(group, x, top + index * _LINE, line, anchor="middle" if centred else "start",
                       bold=index == 0)

    def edge(self, points: Sequence[tuple[float, float]], *, style: str = "solid",
             label: Sequence[str] = (), label_at: tuple[float, float] | None = None) -> None:
        attributes = {"d": "M " + " L ".join(f"{_n(x)} {_n(y)}" for x, y in points),
                      "fill": "none", "stroke": "#444444", "marker-end": "url(#arrow)"}
        if style != "solid":
            attributes["stroke-dasharray"] = "6 4" if style == "dashed" else "2 3"
        ET.SubElement(self.edges, "path", attributes)
        if label and label_at:
            x, y = label_at
            for index, line in enumerate(label):
                self._text(self.labels, x, y + index * (_LINE - 2), line, anchor="middle",
                           size="11", fill="#333333")

    def heading(self, x: float, y: float, text: str) -> None:
        self._text(self.root, x, y, text, anchor="start", size="16", bold=True)

    def note(self, x: float, y: float, text: str) -> None:
        self._text(self.root, x, y, text, anchor="start", size="11", fill="#333333")

    @staticmethod
    def _text(parent: ET.Element, x: float, y: float, text: str, *, anchor: str,
              bold: bool = False, size: str | None = None, fill: str = "#111111") -> None:
        attributes = {"x": _n(x), "y": _n(y), "text-anchor": anchor, "fill": fill}
        if size:
            attributes["font-size"] = size
        if bold:
            attributes["font-weight"] = "bold"
        ET.SubElement(parent, "text", attributes).text = text

    def finish(self, width: float, height: float) -> str:
        self.root.set("width", _n(width))
        self.root.set("height", _n(height))
        self.root.set("viewBox", f"0 0 {_n(width)} {_n(height)}")
        ET.indent(self.root)
        return ET.tostring(self.root, encoding="unicode", xml_declaration=False) + "\n"


def _n(value: float) -> str:
    """A coordinate, without a trailing ``.0`` (deterministic, compact)."""
    return f"{value:.1f}".removesuffix(".0")


def _width(lines: Sequence[str], minimum: float) -> float:
    return max([minimum, *(len(line) * _CHAR + 30 for line in lines)])


def _node_height(lines: Sequence[str]) -> float:
    return 12 + _LINE * len(lines)


@dataclass(frozen=True)
class _Layout:
    internet: Box
    vpc: Box
    alb: Box
    public: tuple[Box, ...]  # per zone
    private: tuple[Box, ...]
    nat: tuple[Box, ...]
    task: tuple[Box, ...]
    host: tuple[Box, ...]
    cluster: Box
    service: Box
    capacity: Box
    asg: Box

    @property
    def width(self) -> float:
        return self.cluster.right + _MARGIN

    @property
    def legend_y(self) -> float:
        return max(self.vpc.bottom, self.cluster.bottom) + 25

    @property
    def height(self) -> float:
        return self.legend_y + _MARGIN


def _layout(arch: Architecture) -> _Layout:
    """Columns left to right: internet | public subnets | private subnets | ECS; a row per AZ."""
    top, zones = 50.0, arch.zones
    public_width = _width([*_alb_lines(arch), *(line for zone in zones for line in
                                                [*_subnet_lines(zone, "public"),
                                                 *_nat_lines(zone, arch)])], 220)
    private_width = _width([*_task_lines(arch), *_host_lines(arch),
                            *(line for zone in zones for line in _subnet_lines(zone, "private"))],
                           220)
    vpc_x = _MARGIN + 100 + max(150.0, _width(_clients_edge_lines(arch), 0))
    public_x = vpc_x + 20
    private_x = public_x + public_width + max(150.0, _width(_service_edge_lines(arch), 0))
    alb = Box(public_x, top + 50, public_width, _node_height(_alb_lines(arch)))
    task_height, host_height = _node_height(_task_lines(arch)), _node_height(_host_lines(arch))
    row_height = _SUBNET_HEADER + task_height + 8 + host_height + 10
    rows = [alb.bottom + 30 + index * (row_height + _ROW_GAP) for index in range(len(zones))]
    public = tuple(Box(public_x, y, public_width, row_height) for y in rows)
    private = tuple(Box(private_x, y, private_width, row_height) for y in rows)
    vpc = Box(vpc_x, top, private_x + private_width + 20 - vpc_x,
              rows[-1] + row_height + 20 - top)
    cluster = _cluster_boxes(arch, vpc.right + 90, top, alb.y)
    return _Layout(
        internet=Box(_MARGIN, alb.y, 100, vpc.bottom - 20 - alb.y),
        vpc=vpc, alb=alb, public=public, private=private,
        nat=tuple(Box(box.x + 15, box.y + _SUBNET_HEADER, box.width - 30,
                      _node_height(_nat_lines(zone, arch)))
                 for zone, box in zip(zones, public, strict=True)),
        task=tuple(Box(box.x + 15, box.y + _SUBNET_HEADER, box.width - 30, task_height)
                   for box in private),
        host=tuple(Box(box.x + 15, box.y + _SUBNET_HEADER + task_height + 8, box.width - 30,
                       host_height) for box in private),
        cluster=cluster[0], service=cluster[1], capacity=cluster[2], asg=cluster[3],
    )


def _cluster_boxes(arch: Architecture, x: float, top: float,
                   first: float) -> tuple[Box, Box, Box, Box]:
    """The ECS cluster's box and, stacked inside it, the service, capacity provider and group."""
    width = _width([*_service_lines(arch), *_asg_lines(arch), *_capacity_lines()], 200)
    service = Box(x + 15, first, width - 30, _node_height(_service_lines(arch)))
    capacity = Box(service.x, service.bottom + 40, service.width,
                   _node_height(_capacity_lines()))
    asg = Box(service.x, capacity.bottom + 40, service.width, _node_height(_asg_lines(arch)))
    return Box(x, top, width, asg.bottom + 20 - top), service, capacity, asg


def svg(blueprint: Blueprint, *, environment: str | None = None) -> str:
    """The architecture as a standalone SVG picture, drawn without any system binary."""
    arch = architecture(blueprint, environment)
    layout = _layout(arch)
    canvas = _Canvas(f"{arch.title}: architecture")
    canvas.heading(_MARGIN, 30, f"{arch.title}: architecture")
    canvas.box(layout.internet, "internet", ["Internet"])
    canvas.box(layout.vpc, "vpc", [" · ".join(_vpc_lines(arch))], centred=False)
    canvas.box(layout.alb, "alb", _alb_lines(arch))
    for index, zone in enumerate(arch.zones):
        canvas.box(layout.public[index], "public", _subnet_lines(zone, "public"), centred=False)
        canvas.box(layout.private[index], "private", _subnet_lines(zone, "private"),
                   centred=False)
        canvas.box(layout.nat[index], "node" if zone.has_nat else "absent",
                   _nat_lines(zone, arch))
        canvas.box(layout.task[index], "node", _task_lines(arch))
        canvas.box(layout.host[index], "node", _host_lines(arch))
    canvas.box(layout.cluster, "ecs", ["ECS cluster"], centred=False)
    for box, lines in ((layout.service, _service_lines(arch)),
                       (layout.capacity, _capacity_lines()), (layout.asg, _asg_lines(arch))):
        canvas.box(box, "node", lines)
    _svg_edges(canvas, arch, layout)
    canvas.note(_MARGIN, layout.legend_y, _LEGEND)
    return canvas.finish(layout.width, layout.height)


def _svg_edges(canvas: _Canvas, arch: Architecture, layout: _Layout) -> None:
    alb, internet = layout.alb, layout.internet
    canvas.edge([(internet.right, alb.middle), (alb.x, alb.middle)],
                label=_clients_edge_lines(arch),
                label_at=((internet.right + alb.x) / 2, alb.middle - 26))
    gap_middle = (alb.right + layout.private[0].x) / 2
    canvas.edge([(alb.right, alb.middle), (layout.task[0].x, layout.task[0].middle)],
                label=_service_edge_lines(arch), label_at=(gap_middle, alb.middle - 26))
    for index, zone in enumerate(arch.zones):
        task, host, private = layout.task[index], layout.host[index], layout.private[index]
        if index:
            canvas.edge([(alb.right, alb.middle), (task.x, task.middle)])
        nat = layout.nat[zone.nat_zone - 1]
        canvas.edge([(private.x, host.middle), (nat.right, nat.middle + 10)], style="dashed")
        if zone.has_nat:
            canvas.edge([(nat.x, nat.middle), (internet.right, nat.middle)], style="dashed",
                        label=["egress"], label_at=((internet.right + layout.vpc.x) / 2,
                                                    nat.middle - 6))
        canvas.edge([(layout.service.x, layout.service.middle), (task.right, task.middle)],
                    style="dotted")
        canvas.edge([(layout.asg.x, layout.asg.middle), (host.right, host.middle)],
                    style="dotted")
    service, capacity, asg = layout.service, layout.capacity, layout.asg
    centre = service.x + service.width / 2
    canvas.edge([(centre, service.bottom), (centre, capacity.y)], style="dotted")
    canvas.edge([(centre, capacity.bottom), (centre, asg.y)], style="dotted")

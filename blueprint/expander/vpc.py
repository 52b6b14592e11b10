"""vpc.yml: public and private subnets in each Availability Zone, NAT for the private ones."""

from __future__ import annotations

import ipaddress
import math
from typing import Any

from blueprint.expander._build import (
    ChildStack,
    Part,
    get_att,
    ref,
    sub,
)
from blueprint.model import Blueprint, Network

ORDINALS = ("One", "Two", "Three")
SECTION = "network"


def build(bp: Blueprint) -> ChildStack:
    zones = ORDINALS[: bp.network.availability_zones]
    nat_zones = zones[:1] if bp.network.nat_gateways == "single" else zones
    return ChildStack(
        description="VPC with public subnets (load balancer, NAT) and private subnets "
                    "(instances, tasks) in each Availability Zone",
        section=SECTION,
        parameters=(),
        parts=(_vpc(bp.network), *_subnets(bp.network, zones), *_internet_routes(zones),
               *_nat_gateways(nat_zones), *_private_routes(zones, nat_zones)),
        outputs={
            "VpcId": {"Description": "The ID of the VPC", "Value": ref("VPC")},
            "PublicSubnetIds": {"Description": "Comma-separated public subnets, with a route "
                                               "to the internet gateway",
                                "Value": _joined("Public", zones)},
            "PrivateSubnetIds": {"Description": "Comma-separated private subnets, with "
                                                "outbound access through NAT",
                                 "Value": _joined("Private", zones)},
        },
    )


def subnet_cidrs(vpc_cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """Equal public and private subnets carved from the VPC range, publics first."""
    network = ipaddress.ip_network(vpc_cidr, strict=False)
    extra_bits = math.ceil(math.log2(2 * zones))
    subnets = [str(s) for s in network.subnets(prefixlen_diff=extra_bits)][: 2 * zones]
    return subnets[:zones], subnets[zones:]


def _part(logical_id: str, resource: dict[str, Any],
          details: tuple[tuple[str, str], ...] = ()) -> Part:
    return Part(logical_id, resource, SECTION, details)


_CIDR_FIELD = (("/Properties/CidrBlock", "network.cidr"),)


def _vpc(network: Network) -> Part:
    cidr = str(ipaddress.ip_network(network.cidr, strict=False))
    return _part("VPC", {"Type": "AWS::EC2::VPC", "Properties": {
        "EnableDnsSupport": True, "EnableDnsHostnames": True, "CidrBlock": cidr}}, _CIDR_FIELD)


def _subnets(network: Network, zones: tuple[str, ...]) -> list[Part]:
    public_cidrs, private_cidrs = subnet_cidrs(network.cidr, len(zones))
    cidrs = {"Public": public_cidrs, "Private": private_cidrs}
    parts = []
    for index, ordinal in enumerate(zones):
        for kind in ("Public", "Private"):
            properties: dict[str, Any] = {
                # `Fn::GetAZs: ''` means "this region"; the seed's {Ref: AWS::Region}
                # form is equivalent on AWS but not understood by every tool.
                "AvailabilityZone": {"Fn::Select": [index, {"Fn::GetAZs": ""}]},
                "VpcId": ref("VPC"),
                "CidrBlock": cidrs[kind][index],
            }
            # No MapPublicIpOnLaunch on the public subnets: nothing launched there
            # needs one (the load balancer and the NAT gateways get theirs), and
            # an instance started there by mistake stays private (CT.EC2.PR.11).
            parts.append(_part(f"{kind}Subnet{ordinal}",
                               {"Type": "AWS::EC2::Subnet", "Properties": properties},
                               _CIDR_FIELD))
    return parts


def _internet_routes(zones: tuple[str, ...]) -> list[Part]:
    parts = [
        _part("InternetGateway", {"Type": "AWS::EC2::InternetGateway"}),
        _part("GatewayAttachement", {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {
            "VpcId": ref("VPC"), "InternetGatewayId": ref("InternetGateway")}}),
        _part("PublicRouteTable", {"Type": "AWS::EC2::RouteTable",
                                   "Properties": {"VpcId": ref("VPC")}}),
        _part("PublicRoute", {"Type": "AWS::EC2::Route", "DependsOn": "GatewayAttachement",
                              "Properties": {"RouteTableId": ref("PublicRouteTable"),
                                             "DestinationCidrBlock": "0.0.0.0/0",
                                             "GatewayId": ref("InternetGateway")}}),
    ]
    parts += [_part(f"PublicSubnet{ordinal}RouteTableAssociation", {
        "Type": "AWS::EC2::SubnetRouteTableAssociation",
        "Properties": {"SubnetId": ref(f"PublicSubnet{ordinal}"),
                       "RouteTableId": ref("PublicRouteTable")}}) for ordinal in zones]
    return parts


def _nat_gateways(nat_zones: tuple[str, ...]) -> list[Part]:
    parts = []
    for ordinal in nat_zones:
        parts.append(_part(f"NatGateway{ordinal}Attachment", {
            "Type": "AWS::EC2::EIP", "DependsOn": "GatewayAttachement",
            "Properties": {"Domain": "vpc"}}))
        parts.append(_part(f"NatGateway{ordinal}", {"Type": "AWS::EC2::NatGateway", "Properties": {
            "AllocationId": get_att(f"NatGateway{ordinal}Attachment", "AllocationId"),
            "SubnetId": ref(f"PublicSubnet{ordinal}")}}))
    return parts


def _private_routes(zones: tuple[str, ...], nat_zones: tuple[str, ...]) -> list[Part]:
    parts = []
    for ordinal in zones:
        nat = f"NatGateway{ordinal if ordinal in nat_zones else nat_zones[0]}"
        table = f"PrivateRouteTable{ordinal}"
        parts += [
            _part(table, {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": ref("VPC")}}),
            _part(f"PrivateRoute{ordinal}", {"Type": "AWS::EC2::Route", "Properties": {
                "RouteTableId": ref(table), "DestinationCidrBlock": "0.0.0.0/0",
                "NatGatewayId": ref(nat)}}),
            _part(f"{table}Association", {
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"RouteTableId": ref(table),
                               "SubnetId": ref(f"PrivateSubnet{ordinal}")}}),
        ]
    return parts


def _joined(kind: str, zones: tuple[str, ...]) -> dict[str, str]:
    return sub(",".join(f"${{{kind}Subnet{ordinal}}}" for ordinal in zones))

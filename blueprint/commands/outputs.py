from __future__ import annotations

import json
import sys

from blueprint.aws import stacks
from blueprint.aws.session import aws_errors
from blueprint.commands._cloud import CloudOptions, ConsoleUi, load_only, open_aws
from blueprint.errors import BlueprintError


def run(path: str, options: CloudOptions, *, as_json: bool = False) -> int:
    blueprint = load_only(path)
    with open_aws(options) as aws, aws_errors(aws.target):
        stack = stacks.describe_stack(aws.client("cloudformation"), blueprint.name)
    if stack is None:
        raise BlueprintError(f"stack {blueprint.name} is not deployed",
                             hint=f"deploy it with `blueprint deploy {path}`")
    outputs = stacks.outputs_of(stack)
    if as_json:
        sys.stdout.write(json.dumps(outputs, indent=2, sort_keys=True) + "\n")
    else:
        ConsoleUi().outputs(outputs)
    return 0

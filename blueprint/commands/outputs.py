from __future__ import annotations

import json
import sys

from blueprint.aws import stacks
from blueprint.commands._cloud import (
    CloudOptions,
    ConsoleUi,
    console,
    deployed_stack,
    region_line,
)
from blueprint.errors import BlueprintError


def run(path: str, options: CloudOptions, *, as_json: bool = False,
        env: str | None = None) -> int:
    with deployed_stack(path, options, env) as deployed:
        stack = deployed.stack
        console(stderr=True).print(region_line(deployed.aws))
    if stack is None:
        raise BlueprintError(f"stack {deployed.name} is not deployed",
                             hint=f"deploy it with `{deployed.target.command('deploy', path)}`")
    outputs = stacks.outputs_of(stack)
    if as_json:
        sys.stdout.write(json.dumps(outputs, indent=2, sort_keys=True) + "\n")
    else:
        ConsoleUi().outputs(outputs)
    return 0

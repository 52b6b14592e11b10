"""A ``StackDiff`` as a rich table (terminal), JSON (machines) or Markdown (a pull request).

Replacements of stateful or disruptive resources (``LOUD_TYPES``) and
replacements that CloudFormation will refuse are marked in every format.
"""

from __future__ import annotations

import json
from typing import Any

from blueprint.diff.model import Action, ResourceChange, StackDiff
from blueprint.formatters.markdown import cell, code

JSON_VERSION = 1
_STYLE = {Action.ADDED: "green", Action.MODIFIED: "yellow", Action.REMOVED: "red",
          Action.REPLACED: "magenta"}


def headline(diff: StackDiff) -> str:
    counts = diff.counts()
    if not diff.changes:
        return "No changes"
    text = ", ".join(f"{counts[a.value]} {a.value}" for a in Action if counts[a.value])
    loud = [c for c in diff.changes if c.loud]
    failing = [c for c in diff.changes if c.will_fail]
    if loud:
        text += f"; {len(loud)} replacement{'s' if len(loud) > 1 else ''} of stateful or " \
                f"disruptive resources"
    if failing:
        text += f"; {len(failing)} replacement{'s' if len(failing) > 1 else ''} will fail"
    return text


def action_label(change: ResourceChange) -> str:
    label = change.action.value
    if change.will_fail:
        return f"{label}: WILL FAIL"
    if change.loud:
        return label.upper()
    if change.rolls_instances:
        return f"{label} (rolls instances)"
    if change.may_replace:
        return f"{label} (may replace)"
    return label


def details(change: ResourceChange) -> str:
    """The reasons (else what changes), and the blueprint fields behind them."""
    text = "; ".join(change.reasons) if change.reasons else ", ".join(change.changed)
    if change.fields:
        text += f" (from {', '.join(change.fields)})"
    return text


def to_json(diff: StackDiff, old: str, new: str) -> str:
    document: dict[str, Any] = {
        "version": JSON_VERSION,
        "old": old,
        "new": new,
        "summary": {**diff.counts(), "loudReplacements": sum(c.loud for c in diff.changes),
                    "willFail": sum(c.will_fail for c in diff.changes)},
        "stacks": [{"stack": stack, "changes": [_change_json(c) for c in diff.of_stack(stack)]}
                   for stack in diff.stacks],
        "warnings": list(diff.warnings),
        "deployTime": [{"stack": v.stack, "logicalId": v.logical_id, "path": v.path,
                        "source": v.source} for v in diff.deploy_time],
    }
    return json.dumps(document, indent=2) + "\n"


def _change_json(change: ResourceChange) -> dict[str, Any]:
    return {"logicalId": change.logical_id, "type": change.resource_type,
            "action": change.action.value, "changed": list(change.changed),
            "forcedBy": list(change.forced_by), "reasons": list(change.reasons),
            "fields": list(change.fields),
            "loud": change.loud, "willFail": change.will_fail,
            "rollsInstances": change.rolls_instances, "mayReplace": change.may_replace}


def to_markdown(diff: StackDiff, old: str, new: str) -> str:
    lines = [f"### blueprint diff: {code(old)} → {code(new)}", "", f"**{cell(headline(diff))}**",
             ""]
    for change in diff.changes:
        if change.loud or change.will_fail:
            lines.append(f"- :warning: {code(change.stack + ' ' + change.logical_id)} "
                         f"{cell(action_label(change))}: {cell(details(change))}")
    if any(c.loud or c.will_fail for c in diff.changes):
        lines.append("")
    for stack in diff.stacks:
        changes = diff.of_stack(stack)
        if not changes:
            continue
        lines += [f"#### {cell(stack)}", "", "| Resource | Type | Change | Why |",
                  "| --- | --- | --- | --- |"]
        lines += [f"| {code(c.logical_id)} | {code(c.resource_type)} | "
                  f"{_bold(c, cell(action_label(c)))} | {cell(details(c))} |" for c in changes]
        lines.append("")
    lines += _notes_markdown(diff)
    return "\n".join(lines).rstrip("\n") + "\n"


def _bold(change: ResourceChange, text: str) -> str:
    return f"**{text}**" if change.loud or change.will_fail else text


def _notes_markdown(diff: StackDiff) -> list[str]:
    lines = [f"- :warning: {cell(warning)}" for warning in diff.warnings]
    lines += [f"- {code(v.stack + ' ' + v.logical_id + ' ' + v.path)} is resolved at deploy "
              f"time from {cell(v.source)}: it can change with no edit" for v in diff.deploy_time]
    return lines


def print_table(diff: StackDiff, old: str, new: str, console: Any) -> None:
    """The terminal view: one rich table per stack with changes, then the notes."""
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]{escape(old)}[/bold] -> [bold]{escape(new)}[/bold]: "
                  f"{escape(headline(diff))}")
    for stack in diff.stacks:
        changes = diff.of_stack(stack)
        if not changes:
            continue
        table = Table(title=stack, title_justify="left")
        for column in ("Resource", "Type", "Change", "Why"):
            table.add_column(column, overflow="fold")
        for change in changes:
            style = "bold red" if change.loud or change.will_fail else _STYLE[change.action]
            table.add_row(escape(change.logical_id), escape(change.resource_type),
                          f"[{style}]{escape(action_label(change))}[/{style}]",
                          escape(details(change)))
        console.print(table)
    for warning in diff.warnings:
        console.print(f"[bold yellow]warning:[/bold yellow] {escape(warning)}")
    for value in diff.deploy_time:
        console.print(f"[dim]{escape(value.stack)} {escape(value.logical_id)} "
                      f"{escape(value.path)} is resolved at deploy time from "
                      f"{escape(value.source)}: it can change with no edit[/dim]")

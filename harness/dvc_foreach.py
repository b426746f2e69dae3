"""DVC's own `foreach` where it shortens a dvc.yaml without hiding a dependency. Stages of one kind and one method
(the train stages of every DPR run, the evaluate stages of every FLMR run x task, ...) list the same code and differ
only in names: they become one entry, `<kind>.<method>: {foreach: {<key>: {<name>: <value>}}, do: <template>}`,
and DVC runs each item as the stage `<kind>.<method>@<key>`. Every dependency stays spelled out in the template;
names enter only through `${key}` and `${item.<name>}` (DVC interpolates strings, never lists, so a stage whose
dependency list differs stays a stage of its own). A stage joins its group only when the template, filled in
with its names, gives exactly the stage spelled out; `expand` reads a written file back into single stages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PLACEHOLDER = re.compile(r"\$\{(key|item\.(\w+))\}")


def placeholders(values: dict[str, str]) -> dict[str, str]:
    """The template's stand-ins for an item's names: `${key}` for the key, `${item.<name>}` for the others."""
    return {name: "${key}" if name == "key" else f"${{item.{name}}}" for name in values}


def fill(obj: Any, values: dict[str, str]) -> Any:
    """The template with an item's names put in (in strings and in mapping keys, where DVC puts output paths)."""
    if isinstance(obj, str):
        def one(m: re.Match[str]) -> str:
            return values["key"] if m.group(1) == "key" else values[m.group(2)]
        return PLACEHOLDER.sub(one, obj)
    if isinstance(obj, dict):
        return {fill(k, values): fill(v, values) for k, v in obj.items()}
    if isinstance(obj, list):
        return [fill(v, values) for v in obj]
    return obj


@dataclass
class Groups:
    """The stages that may share a template: group name -> [(stage name, its names, the group's template)]."""
    members: dict[str, list[tuple[str, dict[str, str], dict[str, Any]]]] = field(default_factory=dict)
    joined: dict[str, list[tuple[str, dict[str, str], dict[str, Any]]]] = field(default_factory=dict)  # compacted

    def add(self, group: str, stage: str, values: dict[str, str], template: dict[str, Any]) -> None:
        self.members.setdefault(group, []).append((stage, values, template))

    def compact(self, stages: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """`stages` (every one spelled out, in order) with each group of two or more stages its template fills in
        exactly written as one `foreach` entry, where its first stage stood."""
        first, joined = {}, set()
        for group, members in self.members.items():
            fits = [m for m in members if fill(m[2], m[1]) == stages[m[0]]]
            fits = [m for m in fits if m[2] == fits[0][2]]
            if len(fits) < 2:
                continue
            self.joined[group] = fits
            items = {values["key"]: {k: v for k, v in values.items() if k != "key"} for _, values, _ in fits}
            first[fits[0][0]] = (group, {"foreach": items, "do": fits[0][2]})
            joined.update(stage for stage, _, _ in fits)
        out = {}
        for name, spec in stages.items():
            if name in first:
                out[first[name][0]] = first[name][1]
            elif name not in joined:
                out[name] = spec
        return out

    def renamed(self) -> dict[str, str]:
        """Stage spelled out -> its name as an item of its group (`<group>@<key>`), for the stages `compact` joined."""
        return {stage: f"{group}@{values['key']}" for group, members in self.joined.items()
                for stage, values, _ in members}


def expand(stages: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A written dvc.yaml's stages with every `foreach` entry read back as the stages DVC runs (`<group>@<key>`)."""
    out = {}
    for name, spec in stages.items():
        if isinstance(spec, dict) and "foreach" in spec:
            for key, item in spec["foreach"].items():
                out[f"{name}@{key}"] = fill(spec["do"], {"key": str(key), **{k: str(v) for k, v in item.items()}})
        else:
            out[name] = spec
    return out

"""`python -m harness --params <pipeline params> pin`: pin every hub id a pipeline names (its dataset cards, every
run's text and vision backbone, the reader) to the commit the hub serves now, in the files a user edits (the
cards; the pipeline's overrides.yaml, or params.yaml for the embedded default), then rewrite the pipeline files.
The pins are a change to commit before the next stage runs: stages refuse uncommitted code and settings, and a
committed pin is what makes the run repeatable."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.atomic import write_text
from harness.errors import InputError
from harness.hub import is_hub_id, is_pinned, resolve_commit
from harness.params import params_file


@dataclass(frozen=True)
class HubRef:
    repo_id: str
    revision: Any
    repo_type: str   # model | dataset
    file: Path       # where the pin is written
    key: str         # the key that names the id in that file: `repo` (cards) or `source`


def model_refs(params: dict[str, Any], edited: Path) -> list[HubRef]:
    """Every hub id among the runs' backbones and vision encoders and the reader's backbone."""
    specs = [(run.get("params") or {}).get(k) or {} for run in (params.get("runs") or {}).values()
             for k in ("backbone", "vision")]
    specs.append((params.get("reader") or {}).get("backbone") or {})
    seen: dict[str, HubRef] = {}
    for spec in specs:
        source = spec.get("source")
        if is_hub_id(source) and source not in seen:
            seen[source] = HubRef(source, spec.get("revision"), "model", edited, "source")
    return list(seen.values())


def dataset_refs(params: dict[str, Any]) -> list[HubRef]:
    from harness.data.fetch import needed

    return [HubRef(src["repo"], src.get("revision"), "dataset", card, "repo") for card, src in needed(params)]


def edited_file(params: dict[str, Any]) -> Path:
    """The file a user edits for this pipeline: its overrides.yaml or the study that generates it, or params.yaml
    for the embedded default."""
    from harness import dvcfile

    source = Path(params_file(params)).resolve()
    if (source.parent / "overrides.yaml").is_file():
        return source.parent / "overrides.yaml"
    for p in dvcfile.discover():
        if p.overrides_file and (dvcfile.ROOT / p.params_file).resolve() == source:
            return dvcfile.ROOT / p.overrides_file
    return source


def pin_in_text(text: str, key: str, repo_id: str, sha: str) -> tuple[str, int]:
    """Replace `revision: null` (or a missing value) next to `<key>: <repo_id>` with the commit: in a flow mapping
    on the same line, either order, or in the block lines that follow at the same indentation. Comments and layout
    are kept. Returns the text and the number of places pinned."""
    rid = re.escape(repo_id)
    null = r"(?:null|~|''|\"\")"
    patterns = [
        (rf"({key}:\s*{rid}\s*,\s*revision:\s*){null}", r"\g<1>" + sha),
        (rf"(revision:\s*){null}(\s*,\s*{key}:\s*{rid}(?=\s*[,}}]))", r"\g<1>" + sha + r"\g<2>"),
        (rf"(^([ \t]*){key}:\s*{rid}[ \t]*(?:#[^\n]*)?\n(?:\2[^\n]*\n)*?\2revision:[ \t]*){null}", r"\g<1>" + sha),
        (rf"(^([ \t]*)revision:[ \t]*){null}([ \t]*(?:#[^\n]*)?\n(?:\2[^\n]*\n)*?\2{key}:\s*{rid}[ \t]*$)",
         r"\g<1>" + sha + r"\g<3>"),
    ]
    total = 0
    for pattern, repl in patterns:
        text, n = re.subn(pattern, repl, text, flags=re.MULTILINE)
        total += n
    return text, total


def pin(params: dict[str, Any]) -> list[str]:
    """Pin every unpinned hub id; one line per id. Needs the hub (or $FLMR_BENCH_HUB_MIRROR)."""
    refs = [*dataset_refs(params), *model_refs(params, edited_file(params))]
    lines, written = [], set()
    for ref in refs:
        if is_pinned(ref.revision):
            lines.append(f"{ref.file}: {ref.repo_id} already pinned at {ref.revision}")
            continue
        sha = resolve_commit(ref.repo_id, ref.repo_type, where=(ref.file, f"{ref.key}: {ref.repo_id}"))
        text, n = pin_in_text(ref.file.read_text(encoding="utf-8"), ref.key, ref.repo_id, sha)
        if n == 0:
            raise InputError(ref.file, f"{ref.key}: {ref.repo_id}", "no `revision: null` beside it to pin; add "
                             f"`revision: {sha}` there by hand")
        write_text(ref.file, text)
        written.add(str(ref.file))
        lines.append(f"{ref.file}: {ref.repo_id} pinned at {sha}")
    if not refs:
        return ["nothing to pin: this pipeline names no hub id"]
    if any(r.repo_type == "model" and str(r.file) in written for r in refs):
        from harness import dvcfile  # the pipeline's params.yaml is written from the pinned overrides

        written.update(dvcfile.write_all())
    if written:
        lines.append("commit the pins before the next stage (stages refuse uncommitted settings): "
                     f"git add {' '.join(sorted(written))} && git commit -m 'Pin hub revisions'")
    return lines

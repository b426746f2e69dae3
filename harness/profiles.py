"""Profiles: `profiles/<name>.yaml` holds overrides of the embedded default (`profiles/toy.yaml`); selecting one
writes the merged result to params.yaml, which is what `dvc repro` reads."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.atomic import write_text
from harness.errors import InputError
from harness.params import deep_merge, load_params

PROFILES_DIR = Path("profiles")


class _NoAliases(yaml.SafeDumper):
    """Profiles may share settings through YAML anchors; params.yaml spells every run out."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def use_profile(name: str, params_path: Path = Path("params.yaml"), profiles_dir: Path = PROFILES_DIR) -> str:
    base_file, file = profiles_dir / "toy.yaml", profiles_dir / f"{name}.yaml"
    if not file.is_file():
        known = sorted(p.stem for p in profiles_dir.glob("*.yaml"))
        raise InputError(file, "-", f"no such profile; known: {known}")
    if name == "toy":
        text = base_file.read_text(encoding="utf-8")
    else:
        overlay = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        merged = deep_merge(yaml.safe_load(base_file.read_text(encoding="utf-8")), overlay)
        if "runs" in overlay:
            merged["runs"] = overlay["runs"]  # a profile lists its own rows
        text = (f"# Written by `python -m harness profile {name}` from {file}; edit that file, not this one.\n"
                + yaml.dump(merged, Dumper=_NoAliases, sort_keys=False))
    check = params_path.with_name(f".{params_path.name}.check")
    check.write_text(text, encoding="utf-8")
    try:
        load_params(check)  # never write a params.yaml that the stages would reject
    finally:
        check.unlink()
    write_text(params_path, text)
    return f"{params_path} now holds profile {name!r}; run `dvc repro`"

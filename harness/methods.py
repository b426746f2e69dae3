"""Discover methods: every `methods/<folder>/method.py` declares `METHOD = MethodSpec(...)`."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml

from harness.api import MethodSpec, Retriever
from harness.errors import InputError

METHODS_DIR = Path(__file__).resolve().parent.parent / "methods"
FAMILIES = ("dense", "late-interaction", "sparse")


def discover(methods_dir: Path = METHODS_DIR) -> dict[str, MethodSpec]:
    found: dict[str, MethodSpec] = {}
    for spec_file in sorted(methods_dir.glob("*/method.py")):
        folder = spec_file.parent
        module = importlib.import_module(f"{methods_dir.name}.{folder.name}.method")
        spec = getattr(module, "METHOD", None)
        if not isinstance(spec, MethodSpec):
            raise InputError(spec_file, "METHOD", "must define METHOD = MethodSpec(...)")
        if spec.family not in FAMILIES:
            raise InputError(spec_file, "METHOD.family", f"must be one of {FAMILIES}, got {spec.family!r}")
        if spec.name in found:
            other = found[spec.name].folder
            raise InputError(spec_file, "METHOD.name", f"duplicate method name {spec.name!r} (also in {other})")
        found[spec.name] = MethodSpec(**{**spec.__dict__, "folder": folder})
    return found


def get(name: str) -> MethodSpec:
    methods = discover()
    if name not in methods:
        raise InputError("params.yaml", "runs.*.method", f"unknown method {name!r}; known: {sorted(methods)}")
    return methods[name]


def _read_params(spec: MethodSpec) -> dict[str, Any]:
    path = spec.folder / "params.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise InputError(path, "-", "must be a mapping")
    return data


def default_params(spec: MethodSpec) -> dict[str, Any]:
    """The method's defaults: its params.yaml without the `_schema` section."""
    return {k: v for k, v in _read_params(spec).items() if k != "_schema"}


def params_schema(spec: MethodSpec) -> dict[str, Any]:
    """Keys a run may set beyond the defaults, with their type names (params.yaml's `_schema`; run_params.py)."""
    return _read_params(spec).get("_schema") or {}


def retriever_class(spec: MethodSpec) -> type[Retriever]:
    module_name, _, cls_name = spec.target.partition(":")
    return getattr(importlib.import_module(module_name), cls_name)

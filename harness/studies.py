"""Studies: `studies/<name>.yaml`, one file per open question, in one place.

A study names its question, the pipelines it reads, and its table: either `table: module:function` (a table
that sets several pipelines side by side, written by the DVC stage `study-<name>` in `studies/dvc.yaml`) or
`tables:` (files the pipelines' own report stages write). It may generate its pipelines from a grid:

    pipelines:
      name: toy_distractors_{distractors}        # one pipeline per grid point
      factors: {distractors: [20, 80]}           # a list of values, or values naming an overlay (below)
      template: {dataset: {toy: {distractors_per_kind: "{distractors}"}}, ...}   # that pipeline's overrides

and a pipeline's `runs` or `tasks` may hold a grid of the same shape (`runs: {grid: {name, factors, template}}`,
beside entries named as usual), whose factors map each value to the overlay it merges into the template, in
factor order:

    factors: {state: {trained: {params: {vision: {freeze: false}}}, frozen: {params: {vision: {freeze: true}}}}}

In a template, a string that is exactly `{factor}` becomes the value itself (a number stays a number); other
strings are formatted with the values. `python -m harness pipelines` expands every grid into the pipelines'
written params.yaml and dvc.yaml, and writes `studies/dvc.yaml`."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.code_deps import ROOT
from harness.errors import InputError
from harness.params import deep_merge

STUDIES_DIR = "studies"
STUDIES_DVC = f"{STUDIES_DIR}/dvc.yaml"  # the stages of the tables across pipelines
KEYS = {"question", "reads", "table", "outs", "inputs", "tables", "pipelines"}
RESULTS = "results"
TABLES_DIR = "results/studies"  # where `table` writers write
GRID_KEYS = {"name", "factors", "template"}
PLACEHOLDER = re.compile(r"^\{(\w+)\}$")
FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Study:
    name: str
    file: str                    # relative to the project root
    question: str
    reads: tuple[str, ...]       # the results folders (pipeline profiles) whose results the table reads
    table: str | None            # "module:function" writing `outs` into results/studies/
    outs: tuple[str, ...]        # the files it writes there
    inputs: tuple[str, ...]      # files under each read results folder it reads besides long.csv
    tables: tuple[str, ...]      # or the tables the pipelines' own report stages write
    pipelines: dict[str, dict[str, Any]]  # the pipelines it generates: name -> overrides

    @property
    def stage(self) -> str:
        return f"study-{self.name}"


def _fill(value: Any, names: dict[str, Any]) -> Any:
    """The template with every `{factor}` filled in."""
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, str):
        whole = PLACEHOLDER.match(value)
        if whole and whole.group(1) in names:
            return names[whole.group(1)]
        # an unknown name is left for an inner grid (a pipeline grid's template may hold a run grid)
        return FIELD.sub(lambda m: str(names[m.group(1)]) if m.group(1) in names else m.group(0), value)
    return value


def expand_grid(grid: Any, where: str, field: str) -> dict[str, dict[str, Any]]:
    """name -> the template filled in (and merged with each factor value's overlay) for every grid point, in the
    order of the factors' values (the first factor outermost)."""
    if not isinstance(grid, dict) or set(grid) - GRID_KEYS or "name" not in grid or "template" not in grid:
        raise InputError(where, field, f"must be a mapping with name, template and optionally factors "
                                       f"(got {sorted(grid) if isinstance(grid, dict) else type(grid).__name__})")
    factors = grid.get("factors") or {}
    if not isinstance(factors, dict) or not all(isinstance(v, (list, dict)) and v for v in factors.values()):
        raise InputError(where, f"{field}.factors", "each factor must be a non-empty list or mapping of values")
    out: dict[str, dict[str, Any]] = {}
    for point in itertools.product(*(list(v) for v in factors.values())):
        names = dict(zip(factors, point))
        name, spec = _fill(str(grid["name"]), names), _fill(grid["template"], names)
        if FIELD.search(name):
            raise InputError(where, f"{field}.name", f"{grid['name']!r} names a factor not in {sorted(factors)}")
        for factor, value in names.items():
            overlay = factors[factor][value] if isinstance(factors[factor], dict) else None
            if overlay:
                spec = deep_merge(spec, _fill(overlay, names))
        if name in out:
            raise InputError(where, f"{field}.name", f"gives {name!r} twice: name every factor in it")
        out[name] = spec
    return out


GRIDDED = ("runs", "tasks")  # the named entries of a pipeline that may hold a grid


def expand_entries(entries: Any, where: str, field: str) -> Any:
    """A pipeline's `runs` or `tasks` with a `grid` entry expanded where it stands, beside the entries named as
    written (anything that is not a mapping is left for the params checks)."""
    if not isinstance(entries, dict) or "grid" not in entries:
        return entries
    out: dict[str, Any] = {}
    for name, value in entries.items():
        expanded = expand_grid(value, where, f"{field}.grid") if name == "grid" else {name: value}
        for key in expanded:
            if key in out or (key in entries and name == "grid"):
                raise InputError(where, f"{field}.grid", f"gives {key!r}, which is already named")
        out.update(expanded)
    return out


def load_study(file: Path, root: Path = ROOT) -> Study:
    where = file.relative_to(root).as_posix()
    spec = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    if not isinstance(spec, dict):
        raise InputError(where, "-", "must be a mapping")
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise InputError(where, unknown[0], f"unknown key; a study has {', '.join(sorted(KEYS))}")
    if not isinstance(spec.get("question"), str):
        raise InputError(where, "question", "say what the study asks, as a string")
    if bool(spec.get("table")) == bool(spec.get("tables")):
        raise InputError(where, "table", "give exactly one of table (module:function) and tables (files)")
    if spec.get("table") and ":" not in spec["table"]:
        raise InputError(where, "table", f"must be module:function, got {spec['table']!r}")
    if bool(spec.get("table")) != bool(spec.get("outs")):
        raise InputError(where, "outs", "a table names the files it writes into results/studies/ (and only then)")
    generated = expand_grid(spec["pipelines"], where, "pipelines") if "pipelines" in spec else {}
    reads = spec.get("reads") or list(generated)
    if not isinstance(reads, list) or not all(isinstance(r, str) for r in reads):
        raise InputError(where, "reads", "must be a list of pipeline names")
    return Study(file.stem, where, spec["question"].strip(), tuple(reads), spec.get("table"),
                 tuple(spec.get("outs") or ()), tuple(spec.get("inputs") or ()), tuple(spec.get("tables") or ()),
                 generated)


def discover(root: Path = ROOT) -> list[Study]:
    return [load_study(f, root) for f in sorted((root / STUDIES_DIR).glob("*.yaml")) if f.name != "dvc.yaml"]


def get(name: str, root: Path = ROOT) -> Study:
    known = {s.name: s for s in discover(root)}
    if name not in known:
        raise InputError(STUDIES_DIR, name, f"no such study; known: {sorted(known)}")
    return known[name]


def generated_pipelines(root: Path = ROOT) -> dict[str, Study]:
    """Pipeline name -> the study that generates it (a name generated twice, or also given an overrides.yaml,
    is an error naming both files)."""
    out: dict[str, Study] = {}
    for study in discover(root):
        for name in study.pipelines:
            own = root / "pipelines" / name / "overrides.yaml"
            if name in out or own.is_file():
                other = out[name].file if name in out else own.relative_to(root).as_posix()
                raise InputError(study.file, "pipelines.name", f"{name!r} is also defined by {other}")
            out[name] = study
    return out


def table_deps(study: Study, root: Path = ROOT) -> list[str]:
    """What a study table reads: each read pipeline's params (its resamples and seed) and, where committed, its
    long table and the study's other inputs. A pipeline not run yet has no results: the table says so, and
    `python -m harness pipelines` adds them once they exist."""
    from harness import dvcfile

    deps = []
    for folder in study.reads:
        deps.append(dvcfile.get("default" if folder == "toy" else folder, root).params_file)
        for rel in ("long.csv", *study.inputs):
            f = f"{RESULTS}/{folder}/{rel}"
            if (root / f).is_file():
                deps.append(f)
    return deps


def render_dvc(root: Path = ROOT) -> str:
    """studies/dvc.yaml: a stage per study with a table (`study-<name>`), depending on the study file, the code
    that writes the table and what it reads."""
    from harness.code_deps import import_closure
    from harness.dvcfile import CLI_FILES, NoAliases

    stages = {}
    for study in discover(root):
        if not study.table:
            continue
        module = study.table.partition(":")[0]
        code = sorted({f.relative_to(ROOT).as_posix() for f in import_closure([module, "harness.studies"])}
                      | set(CLI_FILES))
        stages[study.stage] = {"wdir": "..", "cmd": f"python -m harness study {study.name}",
                               "deps": [study.file, *table_deps(study, root), *code],
                               "outs": [{f"{TABLES_DIR}/{out}": {"cache": False}} for out in study.outs]}
    header = ("# Written by `python -m harness pipelines` from studies/*.yaml: edit those and run it again.\n"
              "# A stage per study table; run them with `dvc repro --single-item studies/dvc.yaml` (the pipelines"
              " they read are\n# reproduced by their own dvc.yaml).\n")
    return header + yaml.dump({"stages": stages}, Dumper=NoAliases, sort_keys=False, width=120)


def write_table(name: str, root: Path = ROOT) -> list[Path]:
    """Run a study's table writer; every file it declares must be there afterwards."""
    import importlib

    study = get(name, root)
    if not study.table:
        raise InputError(study.file, "table", f"this study's tables are written by its pipelines: {study.tables}")
    module, _, attr = study.table.partition(":")
    getattr(importlib.import_module(module), attr)(root / RESULTS)
    written = [root / TABLES_DIR / out for out in study.outs]
    missing = [p.name for p in written if not p.is_file()]
    if missing:
        raise InputError(study.file, "outs", f"{study.table} did not write {', '.join(missing)}")
    return written

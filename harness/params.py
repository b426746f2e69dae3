"""Load params.yaml, check it against a schema, and merge a run's overrides onto its method's defaults."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from harness.errors import InputError

_NUM = {"type": "number"}
_INT = {"type": "integer"}
_POS_INT = {"type": "integer", "minimum": 1}
_NON_NEG_INT = {"type": "integer", "minimum": 0}
_FRACTION = {"type": "number", "minimum": 0, "maximum": 1}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["profile", "data_seed", "dataset", "protocol", "eval", "index", "runs"],
    "properties": {
        "profile": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
        # data_seed: the toy world, the validation carve, subsets, bootstrap resamples. train_seeds: model
        # initialisation and batch order; a pipeline with several lists each run once per seed (dvcfile.py)
        "data_seed": _INT,
        "train_seeds": {"type": "array", "items": _INT, "minItems": 1, "uniqueItems": True},
        "dataset": {
            "type": "object",
            "required": ["name", "source"],
            "properties": {
                "name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
                "source": {"type": "string"},
                "toy": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "n_kinds": _POS_INT, "distractors_per_kind": _POS_INT, "n_train": _POS_INT,
                        "n_val": _POS_INT, "n_test": _POS_INT, "image_size": {"type": "integer", "minimum": 32},
                        "max_objects": {"type": "integer", "minimum": 1, "maximum": 4},
                        "drop_colour": _FRACTION, "drop_texture": _FRACTION, "name_shape": _FRACTION,
                        "heldout_kinds": _FRACTION, "detector": {"enum": ["perfect", "noisy"]},
                        "detector_jitter": _FRACTION, "detector_wrong_label": _FRACTION, "detector_miss": _FRACTION,
                    },
                },
            },
        },
        "protocol": {
            "type": "object",
            "additionalProperties": False,
            "required": ["batch_size", "steps", "lr", "eval_every", "patience", "select_on"],
            "properties": {
                "batch_size": _POS_INT, "steps": _NON_NEG_INT, "lr": {"type": "number", "exclusiveMinimum": 0},
                "weight_decay": {"type": "number", "minimum": 0}, "warmup_steps": _NON_NEG_INT,
                "eval_every": _POS_INT, "patience": _POS_INT, "hard_negatives": _NON_NEG_INT,
                "hard_negative_pool": _POS_INT, "select_on": {"type": "string"},
            },
        },
        "eval": {
            "type": "object",
            "required": ["split", "ks"],
            "properties": {
                "split": {"enum": ["val", "dev", "test"]},  # dev: BEIR's name for val
                "ks": {"type": "array", "items": _POS_INT, "minItems": 1},
                "bootstrap": _INT, "latency_queries": _INT, "reference_run": {"type": ["string", "null"]},
            },
        },
        "index": {"type": "object"},
        # evaluation tasks (harness/tasks.py); the first is the main task. Default: {main: {split: eval.split}}
        "tasks": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[A-Za-z0-9_.]+$"},
            "additionalProperties": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {"split": {"enum": ["val", "dev", "test"]}, "corpus": {"type": "string"},
                               "dataset": {"type": "string"},
                               "subset": {"type": "object", "required": ["size"], "additionalProperties": False,
                                          "properties": {"size": _POS_INT, "seed": _INT}}},
            },
        },
        # what a pipeline needs beyond this machine; its stages stop with one line where it is missing
        "requires": {"type": "array", "items": {"enum": ["gpu", "hub"]}},
        "reader": {
            "type": "object",
            "required": ["backbone", "top_k", "max_input_length", "max_answer_length"],
            "properties": {"top_k": _POS_INT, "max_input_length": _POS_INT, "max_answer_length": _POS_INT,
                           "num_beams": _POS_INT, "backbone": {"type": "object"}, "protocol": {"type": "object"},
                           "mode": {"enum": ["concat", "per_passage"]}},
        },
        "runs": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[A-Za-z0-9_.-]+$"},
            "additionalProperties": {
                "type": "object",
                "required": ["method"],
                "properties": {
                    "method": {"type": "string"},
                    "params": {"type": "object"},
                    "protocol": {"type": "object"},
                    "index": {"type": "object"},
                    # evaluate the model another pipeline trained under this run id (no train stage here)
                    "from": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
                    "from_run": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},  # its run id there
                    "seed": _INT,  # this run's training seed (default: the first of train_seeds)
                    "replicate_of": {"type": "string"},  # the run this one repeats with another training seed
                },
                "dependentRequired": {"from_run": ["from"]},
            },
        },
    },
}


def _field_path(err: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in err.absolute_path]
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else "?"
        parts.append(missing)
    return ".".join(parts) or "-"


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Parse and validate; any problem is one `InputError` naming the file and the dotted field."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "-", "file not found")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, "-", f"not valid YAML ({getattr(exc, 'problem', exc)})",
                         line=mark.line + 1 if mark else None) from None
    if not isinstance(params, dict):
        raise InputError(path, "-", "must be a mapping")
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(params), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        raise InputError(path, _field_path(err), _short(err))
    _canonical_splits(params)
    params["_source"] = str(path)  # for error messages; never hashed (see params_hash)
    return params


def _canonical_splits(params: dict[str, Any]) -> None:
    """`dev` (BEIR's name) is `val` from here on, so hashes and folders never tell the two apart."""
    from harness.data.schema import canonical_split

    params["eval"]["split"] = canonical_split(params["eval"]["split"])
    for task in (params.get("tasks") or {}).values():
        if task and "split" in task:
            task["split"] = canonical_split(task["split"])


def _short(err: jsonschema.ValidationError) -> str:
    if err.validator == "type":
        return f"expected {err.validator_value}, got {type(err.instance).__name__} {err.instance!r}"
    if err.validator == "required":
        return "missing"
    return err.message


def params_file(params: dict[str, Any]) -> str:
    """The file the params came from, for error messages (load_params records it)."""
    return str(params.get("_source", "params.yaml"))


def deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def params_hash(obj: Any) -> str:
    if isinstance(obj, dict):
        obj = {k: v for k, v in obj.items() if k != "_source"}
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def train_seeds(params: dict) -> list[int]:
    """The training seeds a pipeline names (default: the data seed alone)."""
    return [int(x) for x in params.get("train_seeds") or [params["data_seed"]]]


def run_seed(params: dict, run_id: str) -> int:
    """The training seed of one run: its own `seed`, else the first of the pipeline's train_seeds."""
    return int(params["runs"][run_id].get("seed", train_seeds(params)[0]))


def run_settings(params: dict, run_id: str, method_defaults: dict, method_schema: dict | None = None) -> dict:
    """Everything one run uses: its method params, protocol and index settings, with overrides applied."""
    if run_id not in params["runs"]:
        raise InputError(params_file(params), f"runs.{run_id}", "no such run")
    from harness.run_params import check_run

    check_run(params, run_id, method_defaults, method_schema or {})
    run = params["runs"][run_id]
    return {
        "run_id": run_id,
        "method": run["method"],
        "method_params": deep_merge(method_defaults, run.get("params", {})),
        "protocol": deep_merge(params["protocol"], run.get("protocol", {})),
        "protocol_overrides": run.get("protocol", {}),
        "index": deep_merge(params["index"], run.get("index", {})),
        "seed": run_seed(params, run_id),
    }

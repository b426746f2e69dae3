"""The run record (`run.json`): its schema, and validation on write and on read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from harness.atomic import write_json
from harness.errors import InputError
from harness.methods import FAMILIES

_NUM_MAP = {"type": "object", "additionalProperties": {"type": "number"}}

RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "run_id", "method", "family", "variant", "dataset", "corpus", "split",
                 "profile", "metrics", "counts", "phases", "index", "latency", "protocol", "provenance"],
    "properties": {
        "schema_version": {"const": 1},
        "run_id": {"type": "string"},
        "method": {"type": "string"},
        "family": {"enum": list(FAMILIES)},
        "variant": {"type": "string"},
        "dataset": {"type": "string"},
        "corpus": {"type": "string"},
        "task": {"type": "string"},
        "split": {"type": "string"},
        "profile": {"type": "string"},
        "metrics": _NUM_MAP,
        "random_baseline": _NUM_MAP,
        "counts": {
            "type": "object",
            "required": ["queries", "queries_effective", "passages", "passages_effective"],
            "properties": {k: {"type": "integer", "minimum": 0}
                           for k in ("queries", "queries_effective", "passages", "passages_effective",
                                     "queries_with_qrels", "queries_without_answers")},
        },
        "dropped": {"type": "object"},
        "phases": {"type": "object", "additionalProperties": {"type": "object"}},
        "index": {"type": "object", "required": ["backend", "bytes_on_disk", "vectors"]},
        "latency": {"type": "object"},
        "protocol": {"type": "object"},
        "training": {"type": "object"},
        "provenance": {
            "type": "object",
            "required": ["git", "params_hash", "data_hash", "model_hash", "seed", "libraries", "device"],
        },
    },
}


def validate(record: dict[str, Any], path: str | Path = "run.json") -> None:
    errors = sorted(jsonschema.Draft202012Validator(RECORD_SCHEMA).iter_errors(record), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        raise InputError(path, ".".join(str(p) for p in err.absolute_path) or "-", err.message)


def write_record(path: Path, record: dict[str, Any]) -> None:
    validate(record, path)
    write_json(path, record)


def read_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(path, "-", f"cannot read run record ({exc})") from None
    validate(record, path)
    return record


# What varies from one run of the same code to the next (wall times, latency, the commit that ran it, library
# builds, the device): kept in run.json, out of run_facts.json, the part DVC tracks and the tables read, so a
# regeneration from a fresh clone leaves dvc.lock and every metric table byte-identical.
VOLATILE = ("phases", "latency")
# all_params_hash covers every key of the params file, also those this run does not read
VOLATILE_PROVENANCE = ("git", "libraries", "device", "all_params_hash")


def facts_of(record: dict[str, Any]) -> dict[str, Any]:
    facts = {k: v for k, v in record.items() if k not in VOLATILE}
    prov = record["provenance"]
    facts["provenance"] = {k: v for k, v in prov.items() if k not in VOLATILE_PROVENANCE}
    facts["provenance"]["dirty"] = bool((prov.get("git") or {}).get("dirty"))
    return facts


def read_facts(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(path, "-", f"cannot read run facts ({exc})") from None

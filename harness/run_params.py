"""A run's settings checked before anything trains: its method params against the method's params.yaml, which is
their schema (every key a run sets must be a key the defaults name, or one its `_schema` section adds, with a
value of the default's type; `tiny` model configs pass through to transformers as they are), and its protocol
against the protocol schema. A typo (`poolng: mean`) or a wrong value (`lr: -1`) is one line naming the params
file and the dotted key, instead of a run that trains on the defaults."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from harness.errors import InputError

SCHEMA_KEY = "_schema"   # in a method's params.yaml: keys a run may add beyond the defaults, {key: type name}
FREE_FORM = ("tiny",)    # random-init model configs: any keyword the transformers config takes
TYPE_NAMES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float),
                                           "boolean": (bool,), "mapping": (dict,), "list": (list,)}


def _type_ok(expected: Any, value: Any) -> bool:
    """Does `value` have the type of the default `expected` (an int where a float is expected is fine)?"""
    if expected is None or value is None:
        return True  # a null default (a revision, an optional path) takes any value; null undoes a default
    if isinstance(expected, bool) or isinstance(value, bool):
        return isinstance(expected, bool) and isinstance(value, bool)
    if isinstance(expected, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(expected))


def _named_type(name: str, value: Any) -> bool:
    kinds = TYPE_NAMES.get(name)
    if kinds is None:
        return True  # `any`
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


def check_keys(defaults: dict[str, Any], extra: dict[str, Any], given: dict[str, Any], path: str,
               where: str | Path) -> None:
    for key, value in given.items():
        field = f"{path}.{key}"
        if key in FREE_FORM:
            if not isinstance(value, dict):
                raise InputError(where, field, f"expected a mapping of model config keys, got {value!r}")
            continue
        sub_extra = extra.get(key) if isinstance(extra.get(key), dict) else {}
        if key not in defaults:
            if isinstance(extra.get(key), str):
                if not _named_type(extra[key], value):
                    raise InputError(where, field, f"expected {extra[key]}, got {type(value).__name__} {value!r}")
                continue
            if key in extra:
                if isinstance(value, dict):
                    check_keys({}, sub_extra, value, field, where)
                continue
            close = difflib.get_close_matches(key, [*defaults, *extra], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(where, field, f"unknown key{hint}; the method's params.yaml names "
                             f"{', '.join(sorted(k for k in [*defaults, *extra] if k not in FREE_FORM))}")
        default = defaults[key]
        if isinstance(default, dict) and isinstance(value, dict):
            check_keys(default, sub_extra, value, field, where)
        elif not _type_ok(default, value):
            raise InputError(where, field, f"expected {type(default).__name__} as the default {default!r}, "
                                           f"got {type(value).__name__} {value!r}")


def check_run(params: dict[str, Any], run_id: str, defaults: dict[str, Any], extra: dict[str, Any]) -> None:
    """One run's method params and protocol; errors name the params file that was read."""
    import jsonschema

    from harness.params import SCHEMA, deep_merge

    where = params.get("_source", "params.yaml")
    run = params["runs"][run_id]
    check_keys(defaults, extra, run.get("params") or {}, f"runs.{run_id}.params", where)
    protocol = deep_merge(params["protocol"], run.get("protocol") or {})
    errors = list(jsonschema.Draft202012Validator(SCHEMA["properties"]["protocol"]).iter_errors(protocol))
    if errors:
        err = min(errors, key=lambda e: list(e.absolute_path))
        key = ".".join(str(p) for p in err.absolute_path) or "-"
        scope = f"runs.{run_id}.protocol" if key in (run.get("protocol") or {}) else "protocol"
        raise InputError(where, f"{scope}.{key}", err.message)

"""The project code a module runs: the transitive closure of its imports inside harness/ and methods/, read
from the source (every import statement, also those inside functions, every `module:attribute` entry of a
registry, imported when its name is chosen, and, for a call of `card_entries`, the loaders the dataset cards
name: harness/cards.py). The pipeline files list it as each stage's dependencies, and
caches and checkpoints key on its digest, so a code change is never served stale."""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("harness", "methods")
# a registry entry (harness/registry.py): a module imported by name when its choice is made
REGISTRY_ENTRY = re.compile(r"^(?:harness|methods)(?:\.\w+)+:\w+$")


def module_file(name: str, root: Path = ROOT) -> Path | None:
    """The file of a project module (`harness.x.y` -> harness/x/y.py or harness/x/y/__init__.py), else None."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = root.joinpath(*name.split("."))
    for f in (base.with_suffix(".py"), base / "__init__.py"):
        if f.is_file():
            return f
    return None


def _module_name(file: Path, root: Path) -> str:
    parts = list(file.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_names(file: Path, root: Path) -> set[str]:
    """Module names an import statement in `file` may load; a `from a import b` also tries `a.b`."""
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    package = _module_name(file, root)
    if file.name != "__init__.py":
        package = package.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and REGISTRY_ENTRY.match(node.value):
            names.add(node.value.partition(":")[0])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "card_entries":
            from harness.cards import loader_modules  # registry entries named in dataset cards, for that field

            field = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            names.update(loader_modules(root, field))
    return names


def _with_parents(name: str) -> list[str]:
    """Importing a.b.c runs a/__init__.py and a/b/__init__.py first."""
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


@lru_cache(maxsize=None)
def _closure(entries: tuple[str, ...], root: Path) -> frozenset[Path]:
    seen: set[Path] = set()
    todo = [n for e in entries for n in _with_parents(e)]
    while todo:
        f = module_file(todo.pop(), root)
        if f is None or f in seen:
            continue
        seen.add(f)
        for name in _imported_names(f, root):
            todo.extend(_with_parents(name))
    return frozenset(seen)


def import_closure(entries: Iterable[str], root: Path = ROOT) -> list[Path]:
    """Every project file that importing the `entries` modules (and calling into them) may run, sorted."""
    return sorted(_closure(tuple(sorted(entries)), root))


def code_digest(files: Iterable[Path], root: Path = ROOT) -> str:
    """sha256 over relative names and bytes of the given files (folders walked for *.py and *.yaml)."""
    h = hashlib.sha256()
    expanded: set[Path] = set()
    for f in files:
        f = Path(f)
        if f.is_dir():
            expanded.update(p for p in f.rglob("*") if p.is_file() and p.suffix in (".py", ".yaml"))
        elif f.is_file():
            expanded.add(f)
    for f in sorted(expanded):
        h.update(str(f.resolve().relative_to(root.resolve())).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def method_code(target: str, root: Path = ROOT) -> list[Path]:
    """The code that turns a method's inputs into vectors: its folder and the project modules it imports."""
    module = target.partition(":")[0]
    folder = root.joinpath(*module.split(".")[:2])
    return sorted({*import_closure([module], root), *(p for p in folder.rglob("*.py"))})

"""The package is laid out as the pipeline it runs: an ``ast`` scan of every module's imports
(function-local ones included) finds no cycle, and each stage imports only what comes before it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import llm_cash_magic

PACKAGE = Path(llm_cash_magic.__file__).parent
FOUNDATION = ("errors", "text", "home", "metrics", "space")  # every stage may use these
STAGES = ("profiling", "recommenders", "codegen", "run", "record")  # in pipeline order
ON_TOP = ("pipeline", "frontends", "bench", "__init__")  # they use the stages; no stage uses them


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(name: str) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            module = f"{base}.{node.module}" if node.level and node.module else base if node.level else node.module
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                found.add(submodule if submodule in MODULES else module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports(name) for name in MODULES}


def part(name: str) -> str:
    """The room a module lives in: its first name below the package ("__init__" for the package)."""
    return name.split(".")[1] if "." in name else "__init__"


def test_the_scan_sees_the_imports_it_must():
    assert "llm_cash_magic.recommenders.base" in GRAPH["llm_cash_magic.recommenders.offline.meta_learner"]
    assert "llm_cash_magic.run.refine" in GRAPH["llm_cash_magic.pipeline"]  # a function-local import counts


def test_no_import_cycle():
    seen, on_path = set(), []

    def visit(name: str) -> None:
        if name in on_path:
            cycle = on_path[on_path.index(name) :] + [name]
            pytest.fail("import cycle: " + " → ".join(cycle))
        if name in seen:
            return
        on_path.append(name)
        for other in sorted(GRAPH[name]):
            visit(other)
        on_path.pop()
        seen.add(name)

    for name in sorted(GRAPH):
        visit(name)


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_only_the_foundation_and_stages_before_it(stage):
    allowed = set(FOUNDATION) | set(STAGES[: STAGES.index(stage) + 1])
    wrong = {
        (name, other) for name in GRAPH if part(name) == stage for other in GRAPH[name] if part(other) not in allowed
    }
    assert not wrong


def test_the_foundation_imports_no_stage():
    wrong = {
        (name, other)
        for name in GRAPH
        if part(name) in FOUNDATION
        for other in GRAPH[name]
        if part(other) not in FOUNDATION
    }
    assert not wrong


def test_only_frontends_import_frontends():
    wrong = {
        name
        for name in GRAPH
        if part(name) not in ("frontends", "__init__")
        for other in GRAPH[name]
        if part(other) == "frontends"
    }
    assert not wrong


def test_the_top_level_is_the_stages_and_a_handful_of_modules():
    top = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "_version"}  # _version: written by the build
    assert top == set(FOUNDATION) | {"pipeline"}
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert folders == set(STAGES) | {"frontends", "bench"}

"""The package's shape: no import circles, experiments that never import one another, one meaning
per public name, and a configuration table for every experiment."""

import ast
import importlib
from collections import defaultdict
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "lib" / "loopvalley"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, top_level_only: bool = True) -> set:
    """The loopvalley modules ``path`` imports (at module level, or anywhere)."""
    tree = ast.parse(path.read_text())
    me = _module_name(path).split(".")
    pkg = me if path.name == "__init__.py" else me[:-1]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("loopvalley"):
                out.add(mod)
                for a in node.names:  # `from . import x` imports the submodule x
                    if (PKG.parent / (mod.replace(".", "/") + f"/{a.name}.py")).exists():
                        out.add(f"{mod}.{a.name}")
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("loopvalley"))
    return out


MODULES = {_module_name(p): p for p in PKG.rglob("*.py")}


def test_no_import_circles():
    graph = {m: {i for i in _imports(p) if i in MODULES and i != m} for m, p in MODULES.items()}
    # a package's __init__ is imported by its submodules implicitly; only explicit edges count
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_experiments_never_import_one_another():
    exp = {m for m in MODULES if m.startswith("loopvalley.experiments.")}
    for m in exp:
        others = {i for i in _imports(MODULES[m], top_level_only=False) if i in exp and i != m}
        assert not others, f"{m} imports {sorted(others)}: shared pieces belong in a lib module"


def test_trainer_imports_nothing_from_models():
    assert not {i for i in _imports(PKG / "train.py", top_level_only=False) if "models" in i}


def test_one_meaning_per_public_name():
    """A public function or class name is defined in one module only (grep finds one meaning)."""
    where = defaultdict(list)
    for m, p in MODULES.items():
        if ".experiments." in m or ".plots." in m or ".widgets." in m:
            continue  # `run`, `config`, `plot_*` are per-experiment by design
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                where[node.name].append(m)
    dup = {k: v for k, v in where.items() if len(v) > 1}
    assert not dup, f"public names defined in several modules: {dup}"


@pytest.mark.parametrize("m", sorted(m for m in MODULES if m.startswith("loopvalley.experiments.")
                                      and m != "loopvalley.experiments.scale_up"))
def test_every_experiment_has_a_scale_table_and_a_config(m):
    mod = importlib.import_module(m)
    assert set(mod.SCALES) == {"ci", "small", "paper"}, f"{m}.SCALES must have one row per scale"
    assert callable(getattr(mod, "config", None)), f"{m} needs config(scale=None, max_steps=None)"

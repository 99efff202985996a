"""The package's shape: one folder ("wing") per chapter group over a shared core, and the rules a
reader can check from the imports — the core never imports a wing, the theory wing needs no
transformer, the Hessian and SHIFT wings never import each other, plots draw what they are handed —
plus no import circles, experiments that never import one another, one meaning per public name, and
a configuration table for every experiment."""

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
                subs = [a.name for a in node.names if (PKG.parent / (mod.replace(".", "/") + f"/{a.name}.py")).exists()]
                out.update(f"{mod}.{a}" for a in subs)  # `from pkg import x` imports the submodule x ...
                if len(subs) < len(node.names):
                    out.add(mod)  # ... and a name from the module (or package) itself
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("loopvalley"))
    return out


MODULES = {_module_name(p): p for p in PKG.rglob("*.py")}
WINGS = ("valley", "language", "looped", "hessian", "shift", "scale")  # one folder per chapter group
ENTRY_POINTS = {"loopvalley.__main__", "loopvalley.figures", "loopvalley.release"}  # the command line sits above every wing
TRANSFORMER_WINGS = ("language", "looped", "hessian", "shift", "scale")


def _wing(m: str) -> str | None:
    parts = m.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in WINGS else None


def _anywhere(m: str) -> set:
    return {i for i in _imports(MODULES[m], top_level_only=False) if i in MODULES}


def test_one_folder_per_chapter_group_over_a_core():
    folders = {p.name for p in PKG.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(WINGS), f"subpackages {sorted(folders)}: expected the wings {WINGS} and nothing else"
    for gone in ("experiments", "plots", "widgets", "exercises"):
        assert not (PKG / gone).exists()


def test_the_core_never_imports_a_wing():
    for m in MODULES:
        if _wing(m) is None and m not in ENTRY_POINTS:
            wings = {i for i in _anywhere(m) if _wing(i)}
            assert not wings, f"core module {m} imports {sorted(wings)}: the core never imports a wing"


def test_the_theory_wing_needs_no_transformer():
    for m in MODULES:
        if _wing(m) == "valley":
            bad = {i for i in _anywhere(m) if _wing(i) in TRANSFORMER_WINGS}
            assert not bad, f"{m} imports {sorted(bad)}: the river-valley theory needs no transformer"


def test_hessian_and_shift_never_import_each_other():
    for a, b in (("hessian", "shift"), ("shift", "hessian")):
        for m in MODULES:
            if _wing(m) == a:
                bad = {i for i in _anywhere(m) if _wing(i) == b}
                assert not bad, f"{m} imports {sorted(bad)}: the {a} and {b} wings never import each other"


def test_plots_draw_what_they_are_handed():
    """A plots module imports no trainer, run, preset or experiment: it draws what it is given."""
    makers = {"loopvalley.train", "loopvalley.registry", "loopvalley.looped.arms", "loopvalley.looped.runs",
              "loopvalley.scale.presets", "loopvalley.scale.cli_train"} | set(EXPERIMENTS)
    for m in MODULES:
        if m.endswith(".plots") or m == "loopvalley.forest":
            bad = _anywhere(m) & makers
            assert not bad, f"{m} imports {sorted(bad)}: plots draw what they are handed"


from loopvalley.registry import EXPERIMENT_MODULES as EXPERIMENTS  # noqa: E402


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
    exp = {m for m in MODULES if m.startswith("loopvalley.registry.")}
    for m in exp:
        others = {i for i in _imports(MODULES[m], top_level_only=False) if i in exp and i != m}
        assert not others, f"{m} imports {sorted(others)}: shared pieces belong in a lib module"


def test_trainer_imports_nothing_from_models():
    assert not {i for i in _imports(PKG / "train.py", top_level_only=False) if "models" in i}


def test_own_package_imports_sit_at_the_top_of_files():
    """Lazy imports only for optional dependencies: no module imports the package inside a function
    (the command line's entry points may, to keep ``--help`` fast)."""
    for m, p in MODULES.items():
        if m in ENTRY_POINTS:
            continue
        late = _imports(p, top_level_only=False) - _imports(p)
        assert not late, f"{m} imports {sorted(late)} inside a function: import at the top of the file"


def test_one_meaning_per_public_name():
    """A public function or class name is defined in one module only (grep finds one meaning)."""
    where = defaultdict(list)
    for m, p in MODULES.items():
        if m in EXPERIMENTS or m.rsplit(".", 1)[-1] in ("plots", "widgets"):
            continue  # `run`, `config`, `plot_*` are per-experiment by design
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                where[node.name].append(m)
    dup = {k: v for k, v in where.items() if len(v) > 1}
    assert not dup, f"public names defined in several modules: {dup}"


@pytest.mark.parametrize("m", sorted(m for m in MODULES if m.startswith("loopvalley.registry.")
                                      and m != "loopvalley.scale.checks"))
def test_every_experiment_has_a_scale_table_and_a_config(m):
    mod = importlib.import_module(m)
    assert set(mod.SCALES) == {"ci", "small", "paper"}, f"{m}.SCALES must have one row per scale"
    assert callable(getattr(mod, "config", None)), f"{m} needs config(scale=None, max_steps=None)"

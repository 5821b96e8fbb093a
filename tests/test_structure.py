"""The package's layering: common < humanoid < motion < rl < teacher < bfm < tasktokens (nern uses only
common); no layer imports a higher one, no module imports private names of another package, and
no import cycles between modules (function-level imports included)."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "frozenfit"
LAYERS = {"common": 0, "humanoid": 1, "motion": 2, "rl": 3, "teacher": 4, "bfm": 5, "tasktokens": 6}


def _modules() -> dict[str, list[tuple[str, list[str]]]]:
    """module name -> [(imported frozenfit module, names imported from it)]."""
    out = {}
    for path in PKG.rglob("*.py"):
        name = ".".join(path.relative_to(PKG.parent).with_suffix("").parts).removesuffix(".__init__")
        deps = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("frozenfit"):
                deps.append((node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                deps += [(a.name, []) for a in node.names if a.name.startswith("frozenfit")]
        out[name] = deps
    return out


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else ""


def test_no_layer_imports_a_higher_one():
    bad = []
    for mod, deps in _modules().items():
        pkg = _package(mod)
        for dep, _ in deps:
            dpkg = _package(dep)
            if pkg == "nern" and dpkg not in ("", "common", "nern"):
                bad.append(f"{mod} -> {dep}")
            elif pkg in LAYERS and dpkg in LAYERS and LAYERS[dpkg] > LAYERS[pkg]:
                bad.append(f"{mod} -> {dep}")
            elif pkg in LAYERS and dpkg == "nern":
                bad.append(f"{mod} -> {dep}")
    assert not bad, bad


def test_no_private_names_across_packages():
    bad = [f"{mod} imports {n} from {dep}" for mod, deps in _modules().items() for dep, names in deps
           for n in names if n.startswith("_") and _package(dep) != _package(mod)]
    assert not bad, bad


def test_no_import_cycles():
    mods = _modules()
    graph = {m: {d for d, _ in deps if d in mods and d != m} for m, deps in mods.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        for d in graph[m]:
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles

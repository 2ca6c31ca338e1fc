"""The package layout and its import rule (docs/layout.md), read from the code's own imports.

1. ``cnnspec/spec/`` imports no torch;
2. ``cnnspec.reference`` is imported only by ``commands/``, ``stages.py`` and ``networks/``;
3. nothing imports upward (the levels below);
plus: the installed package list names every package folder, and no project file cites the team's
internal notes or a tracker number.
"""
from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Bottom to top; a module may import modules of its own level or below. "reference" is the
# repository's reference/ folder, installed as cnnspec.reference.
LEVELS = [
    {"errors", "_version"},
    {"claims", "targets", "devices", "shapes", "cache"},
    {"oracle", "spec"},
    {"strategies"},
    {"report", "options"},
    {"conformance", "adapters"},
    {"reference"},
    {"networks"},
    {"stages"},
    {"commands"},
    {"cli", "__main__"},
]
LEVEL = {name: i for i, names in enumerate(LEVELS) for name in names}


def _modules():
    """``(room, dotted module name, path)`` of every module of the package and of reference/."""
    for path in sorted((ROOT / "cnnspec").rglob("*.py")):
        rel = path.relative_to(ROOT / "cnnspec").with_suffix("")
        parts = rel.parts
        yield ("__init__" if parts == ("__init__",) else parts[0]), ".".join(("cnnspec",) + parts), path
    for path in sorted((ROOT / "reference").glob("*.py")):
        yield "reference", f"cnnspec.reference.{path.stem}", path


def _imports(name: str, path: Path):
    """Every absolute module name ``path`` imports (relative imports resolved), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name.rsplit(".", 1)[0] if path.name != "__init__.py" else name
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if node.module is None:  # from . import x, y: a module of the package, or a name of it
                for a in node.names:
                    sub = ROOT / Path(*f"{mod}.{a.name}".split("."))
                    yield (f"{mod}.{a.name}" if sub.with_suffix(".py").is_file() or sub.is_dir()
                           else mod), node.lineno
            else:
                yield mod, node.lineno


def _room(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "reference":
        return "bare-reference"
    if parts[0] != "cnnspec" or len(parts) == 1:
        return None
    return parts[1]


IMPORTS = [(room, name, path, target, line) for room, name, path in _modules()
           for target, line in _imports(name, path)]


def test_every_room_has_a_level():
    rooms = {room for room, *_ in IMPORTS} | {r for *_, t, _ in IMPORTS if (r := _room(t))}
    unknown = rooms - set(LEVEL) - {"__init__", "bare-reference"}
    assert not unknown, f"rooms without a level in docs/layout.md and LEVELS: {sorted(unknown)}"


def test_spec_imports_no_torch():
    bad = [f"{path.relative_to(ROOT)}:{line} imports {t}" for room, _, path, t, line in IMPORTS
           if room == "spec" and t.split(".")[0] == "torch"]
    assert not bad, bad


def test_reference_is_imported_only_by_commands_stages_and_networks():
    bad = [f"{path.relative_to(ROOT)}:{line} imports {t}" for room, _, path, t, line in IMPORTS
           if _room(t) == "reference" and room not in ("commands", "stages", "networks", "reference")]
    assert not bad, bad


def test_reference_is_never_imported_by_its_bare_name():
    bad = [f"{path.relative_to(ROOT)}:{line} imports {t}" for room, _, path, t, line in IMPORTS
           if _room(t) == "bare-reference"]
    assert not bad, bad


def test_nothing_imports_upward():
    bad = []
    for room, _, path, t, line in IMPORTS:
        to = _room(t)
        if to is None or room == "__init__" or to == "__init__" or to == room:
            continue
        if LEVEL.get(to, -1) > LEVEL[room]:
            bad.append(f"{path.relative_to(ROOT)}:{line}: {room} (level {LEVEL[room]}) imports {t} "
                       f"(level {LEVEL[to]})")
    assert not bad, "\n".join(bad)


def test_the_rule_catches_an_upward_import(tmp_path, monkeypatch):
    """The check above can fail: an oracle module importing the command layer is reported."""
    fake = tmp_path / "cnnspec" / "oracle"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("from ..commands import verify\n")
    found = list(_imports("cnnspec.oracle.bad", fake / "bad.py"))
    assert found == [("cnnspec.commands", 1)]
    assert LEVEL[_room(found[0][0])] > LEVEL["oracle"]


def test_installed_packages_are_the_package_folders():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(conf["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "cnnspec").rglob("__init__.py")}
    assert listed - {"cnnspec.reference"} == on_disk
    assert conf["package-dir"] == {"cnnspec.reference": "reference"}
    assert (ROOT / "reference" / "__init__.py").is_file()


PROJECT_FILES = [p for pattern in ("cnnspec/**/*.py", "cnnspec/**/*.md", "reference/*.py", "reference/*.md",
                                   "benchmarks/*.py", "docs/*.md", "README.md", "tests/**/*.py")
                 for p in sorted(ROOT.glob(pattern))]


@pytest.mark.parametrize("pattern", [r"DESIGN\.md", r"shared/baselines", r"\.\./shared",
                                     r"\b(cnnspec )?[Ii]ssues? [0-9]+\b"])
def test_no_internal_citations(pattern):
    """Users have no team notes and no tracker: cite papers, slides, public documents."""
    rx = re.compile(pattern)
    me = Path(__file__).resolve()
    bad = [f"{p.relative_to(ROOT)}:{i}" for p in PROJECT_FILES if p.resolve() != me
           for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if rx.search(line)]
    assert not bad, bad


def test_the_version_is_the_projects():
    import cnnspec

    assert cnnspec.__version__ == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

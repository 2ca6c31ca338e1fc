"""The one loader of targets: ``package.module:attr`` or ``path/to/file.py:attr``.

A target names an object to validate: an op with the ``torch.nn.functional`` signature (see
``docs/calling-convention.md``) or a model factory. Loading is the same for both; only what the
object must be differs (:func:`load_op`, :func:`load_model_factory`).

A file inside a package (a folder with ``__init__.py``) is imported *with* its package, the way
pytest imports test modules (its ``rootdir``-less "prepend" mode): the folder above the topmost
``__init__.py`` goes on ``sys.path`` and the file is imported by its dotted name, so relative
imports (``from .ops_numpy import pad``) work. A file outside any package is imported by path.

Every failure is a :class:`~cnnspec.errors.UsageError` on one line that names ``argument`` (the
option the caller's user typed: ``target``, ``--model``, ...), the module or attribute, and what
went wrong. :func:`worker_env` is the environment a target's own process runs in.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

from .errors import UsageError

# glibc's M_PERTURB (mallopt(3)): heap memory is handed out filled with 0x5A bytes (freed memory
# with 0xA5), so a kernel that reads memory it never wrote computes with that pattern (finite in
# every float format: 1.5e16 at float32 and bfloat16) instead of with whatever zeros a fresh process
# happens to have; set MALLOC_PERTURB_ yourself (0: off) to choose. Only the target's process.
PERTURB = "165"


def worker_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with ``MALLOC_PERTURB_`` set to :data:`PERTURB` unless it is set already."""
    return {**env, "MALLOC_PERTURB_": env.get("MALLOC_PERTURB_", PERTURB)}


def parse(target: str, argument: str = "target", noun: str = "attr") -> tuple[str, str]:
    """``(module name or absolute file path, attr)``; a usage error when the form is wrong."""
    mod, sep, attr = target.rpartition(":") if isinstance(target, str) else ("", "", "")
    if not sep or not mod or not attr:
        example = "torch.nn.functional:conv2d" if noun == "attr" else "mypkg.models:lenet5"
        raise UsageError(f"{argument}: {target!r} is not 'package.module:{noun}' or "
                         f"'path/to/file.py:{noun}'; e.g. {example}")
    if mod.endswith(".py"):
        path = Path(mod).resolve()
        if not path.is_file():
            raise UsageError(f"{argument}: file {mod!r} does not exist")
        mod = str(path)
    return mod, attr


def package_name(path: Path) -> tuple[Path, str]:
    """``(folder to put on sys.path, dotted module name)`` of a ``.py`` file, by its ``__init__.py``s."""
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, ".".join(parts)


def _import_file(path: str) -> Any:
    root, dotted = package_name(Path(path))
    if "." in dotted:  # inside a package: import it as pytest would, so relative imports work
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        return importlib.import_module(dotted)
    sys.path.insert(0, str(root))
    spec = importlib.util.spec_from_file_location(dotted, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def resolve(target: str, argument: str = "target", noun: str = "attr") -> Any:
    """The object named by ``module:attr`` or ``path/file.py:attr`` (dotted attrs allowed)."""
    mod_name, attr = parse(target, argument, noun)
    try:
        module = _import_file(mod_name) if mod_name.endswith(".py") else importlib.import_module(mod_name)
    except ModuleNotFoundError as e:
        raise UsageError(f"{argument}: importing {mod_name!r} failed: cannot import module "
                         f"{e.name or mod_name!r} ({e}); check the name and PYTHONPATH") from None
    except Exception as e:  # noqa: BLE001 - any failure while importing user code
        first = (str(e).strip().splitlines() or [""])[0]
        raise UsageError(f"{argument}: importing {mod_name!r} raised {type(e).__name__}: {first}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"{argument}: module {mod_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def load_op(target: str, argument: str = "target") -> Callable:
    """The callable op named by ``target``; :class:`UsageError` names what is wrong."""
    obj = resolve(target, argument)
    if not callable(obj):
        raise UsageError(f"{argument}: {target!r} is not callable (it is of type {type(obj).__name__}); "
                         f"name a function with the torch.nn.functional signature")
    return obj


def load_model_factory(target: str, argument: str = "model") -> Any:
    """The model factory (or module) named by ``target``; what it builds is checked by the caller."""
    return resolve(target, argument, noun="factory")

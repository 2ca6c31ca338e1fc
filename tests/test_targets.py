"""cnnspec.targets: the one loader of op and model targets, and its one-line errors."""
import sys

import pytest

from cnnspec import targets
from cnnspec.errors import UsageError


@pytest.fixture
def package(tmp_path, monkeypatch):
    """``pkg/impls/ops_scipy.py`` doing ``from .ops_numpy import pad``, as in a user's package."""
    impls = tmp_path / "pkgcnn_t" / "impls"
    impls.mkdir(parents=True)
    (tmp_path / "pkgcnn_t" / "__init__.py").write_text("")
    (impls / "__init__.py").write_text("")
    (impls / "ops_numpy.py").write_text("def pad(x):\n    return ('padded', x)\n")
    (impls / "ops_scipy.py").write_text("from .ops_numpy import pad\n\ndef conv2d(x):\n    return pad(x)\n")
    (tmp_path / "loose.py").write_text("def f(x):\n    return x + 1\nVALUE = 3\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("pkgcnn_t")]:
        del sys.modules[name]


def test_a_file_inside_a_package_loads_with_its_package(package):
    f = targets.load_op(f"{package}/pkgcnn_t/impls/ops_scipy.py:conv2d")
    assert f(2) == ("padded", 2)
    assert f.__module__ == "pkgcnn_t.impls.ops_scipy"
    assert targets.package_name(package / "pkgcnn_t" / "impls" / "ops_scipy.py") == \
        (package, "pkgcnn_t.impls.ops_scipy")


def test_a_loose_file_and_a_module_load(package):
    assert targets.load_op(f"{package}/loose.py:f")(1) == 2
    assert targets.load_op("math:sqrt")(9.0) == 3.0
    assert targets.resolve("os.path:join.__name__") == "join"


@pytest.mark.parametrize("target,fragment", [
    ("math.sqrt", "is not 'package.module:attr' or 'path/to/file.py:attr'"),
    ("no/such/file.py:f", "file 'no/such/file.py' does not exist"),
    ("no_such_module_xyz:f", "importing 'no_such_module_xyz' failed: cannot import module"),
    ("math:nope", "module 'math' has no attribute 'nope'"),
    ("math:pi", "is not callable (it is of type float)"),
])
def test_bad_op_targets_are_one_line_usage_errors(target, fragment):
    with pytest.raises(UsageError) as e:
        targets.load_op(target, argument="TARGET")
    assert str(e.value).startswith("TARGET: ") and fragment in str(e.value) and "\n" not in str(e.value)


def test_an_import_that_raises_names_the_error(tmp_path):
    (tmp_path / "boom_t.py").write_text("raise RuntimeError('no weights\\nsecond line')\n")
    with pytest.raises(UsageError, match=r"^--model: importing .*boom_t.py' raised RuntimeError: no weights$"):
        targets.load_model_factory(f"{tmp_path}/boom_t.py:f", argument="--model")

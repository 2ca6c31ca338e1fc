"""`cnnspec derive` for the convolution family: conv3d, the transposed convolutions, padding modes and
lo:hi padding; geometry bounds checked before any work; symbol names that parse back (JSON round trip)."""
import json
import subprocess
import sys
import time

import numpy as np
import pytest
import sympy

from cnnspec import oracle
from cnnspec.cli import main
from cnnspec.commands.derive import MAX_NONZEROS, MAX_SYMBOLS


def derive_json(capsys, *args) -> dict:
    assert main(["derive", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _numeric(doc, u_vals, w_vals) -> np.ndarray:
    """Evaluate the JSON output strings (parsed by sympy) at integer values of the symbols."""
    subs = {sympy.Symbol(n): v for n, v in zip(doc["input"] + doc["kernel"], list(u_vals) + list(w_vals))}
    return np.array([int(sympy.sympify(e).subs(subs)) for e in doc["outputs"]])


def test_conv_transpose2d_outputs_equal_the_oracle(capsys):
    doc = derive_json(capsys, "conv_transpose2d", "--input", "2x3", "--kernel", "3x2", "--stride", "2",
                      "--padding", "1:0,0:1", "--output-padding", "1")
    assert doc["verified"] and doc["output_shape"] == [1, 5, 6]
    rng = np.random.default_rng(0)
    u, w = rng.integers(-5, 6, 6), rng.integers(-5, 6, 6)
    want = oracle.conv_transpose2d(u.reshape(1, 1, 2, 3).astype(float), w.reshape(1, 1, 3, 2).astype(float),
                                   None, 2, [(1, 0), (0, 1)], 1)
    assert np.array_equal(_numeric(doc, u, w), want.reshape(-1))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_equal_the_oracle(capsys, mode):
    doc = derive_json(capsys, "conv2d", "--input", "3x4", "--kernel", "2x3", "--padding", "1:1,2:0",
                      "--padding-mode", mode)
    assert doc["verified"] and doc["spec"]["padding_mode"] == mode
    rng = np.random.default_rng(1)
    u, w = rng.integers(-5, 6, 12), rng.integers(-5, 6, 6)
    want = oracle.conv(u.reshape(1, 1, 3, 4).astype(float), w.reshape(1, 1, 2, 3).astype(float), None, 1,
                       [(1, 1), (2, 0)], padding_mode=mode)
    assert np.array_equal(_numeric(doc, u, w), want.reshape(-1))
    if mode != "circular":
        assert "sums of taps" in doc["matrix"]["structure"]


def test_conv3d_and_conv_transpose3d_verify(capsys):
    doc = derive_json(capsys, "conv3d", "--input", "3x3x4", "--kernel", "2x2x2", "--in-channels", "2",
                      "--out-channels", "2")
    assert doc["verified"] and doc["output_shape"] == [2, 2, 2, 3]
    assert "3-level block Toeplitz" in doc["matrix"]["structure"]
    doc = derive_json(capsys, "conv_transpose3d", "--input", "2x2x2", "--kernel", "2x2x2", "--stride", "2",
                      "--in-channels", "2", "--out-channels", "4", "--groups", "2")
    assert doc["verified"] and doc["output_shape"] == [4, 4, 4, 4]


def test_json_round_trips_to_the_same_symbols(capsys):
    doc = derive_json(capsys, "conv2d", "--input", "a,b,c;d,e,f", "--kernel", "w_,x1;y,z", "--padding", "0:1,1:0")
    names = doc["input"] + doc["kernel"]
    for e in doc["outputs"]:
        parsed = sympy.sympify(e)
        assert {str(s) for s in parsed.free_symbols} <= set(names)
        assert all(isinstance(s, sympy.Symbol) for s in parsed.free_symbols)
        assert not parsed.atoms(sympy.NumberSymbol) and sympy.I not in parsed.atoms()
        assert str(parsed) == e


@pytest.mark.parametrize("names", ["I,E,S", "N,pi", "a,lambda", "if,b", "None,c", "a,gamma", "print,q", "oo,x"])
def test_names_sympy_reads_otherwise_are_refused(names, capsys):
    assert main(["derive", "conv1d", "--input", names, "--kernel", "k0,k1"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "is a name sympy reads as" in err


@pytest.mark.parametrize("args,fragment", [
    (["conv2d", "--input", "100000x100000", "--kernel", "3x3"], "--input: 100000x100000"),
    (["conv1d", "--input", "6", "--kernel", "3", "--in-channels", "9999999999"], "--in-channels:"),
    (["conv1d", "--input", "6", "--kernel", "3", "--out-channels", "9999999999"], "--out-channels:"),
    (["conv3d", "--input", "64x64x64", "--kernel", "3x3x3", "--out-channels", "64"], "limit:"),
    (["conv_transpose2d", "--input", "3x3", "--kernel", "2x2", "--stride", "2", "--output-padding", "2"],
     "output-padding: (2, 2)"),
    (["conv_transpose1d", "--input", "3", "--kernel", "2", "--padding-mode", "reflect"], "--padding-mode:"),
    (["conv1d", "--input", "3", "--kernel", "2", "--padding", "3", "--padding-mode", "reflect"],
     "reflect padding must be smaller"),
    (["conv1d", "--input", "3", "--kernel", "2", "--padding", "1:x"], "--padding: '1:x'"),
    (["conv2d", "--input", "3x3", "--kernel", "2x2", "--padding", "1:1,1:1,1:1"], "has 3 axes"),
    (["conv1d", "--input", "4", "--kernel", "2", "--output-padding", "1"], "--output-padding"),
    (["conv3d", "--input", "a,b", "--kernel", "2x2x2"], "3-D ops take sizes"),
    (["conv1d", "--input", "4", "--kernel", "2", "--in-channels", "0"], "--in-channels: 0"),
])
def test_bad_geometry_is_one_line_exit_2(args, fragment, capsys):
    assert main(["derive", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and fragment in err, err


def test_bounds_are_checked_before_any_work():
    """In a real process: a 10^10-symbol geometry is refused in well under a second, no traceback."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "cnnspec", "derive", "conv2d", "--input", "100000x100000",
                        "--kernel", "3x3", "--in-channels", "9999999999"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert f"{MAX_SYMBOLS:,} symbols and {MAX_NONZEROS:,} non-zeros" in r.stderr
    assert time.perf_counter() - t0 < 20          # the interpreter's start-up, not a derivation


def test_a_layer_just_inside_the_bounds_derives(capsys):
    doc = derive_json(capsys, "conv2d", "--input", "14x14", "--kernel", "5x5", "--in-channels", "6",
                      "--out-channels", "16")                      # LeNet-5's C3
    assert doc["verified"] and doc["matrix"]["nnz"] == 240_000

"""`cnnspec derive` and `cnnspec prove` (docs/cli.md): outputs, exit codes, one-line errors."""
import json
import subprocess
import sys

import pytest
import sympy

from cnnspec.cli import main


def run_cli(*args):
    p = subprocess.run([sys.executable, "-m", "cnnspec", *args], capture_output=True, text=True,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


def in_process(capsys, *args):
    """``(exit code, stdout, stderr)`` of ``cnnspec ARGS`` run in this process: the same ``main``
    and error handling as a real process (:func:`run_cli`), without its 5 s of imports."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def derive_json(capsys, *args):
    assert main(["derive", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_derive_reproduces_the_lecture_1d_example(capsys):
    doc = derive_json(capsys, "conv1d", "--input", "a,b,c,d,e,f", "--kernel", "z,y,x",
                      "--convolution", "--mode", "full")
    a, b, c, d, e, f, x, y, z = sympy.symbols("a b c d e f x y z")
    s = [sympy.sympify(t) for t in doc["outputs"]]
    assert s[3] == x * b + y * c + z * d
    assert s[4] == x * c + y * d + z * e
    assert s[5] == x * d + y * e + z * f
    assert s[6] == x * e + y * f
    assert doc["verified"] is True
    T = sympy.Matrix([[sympy.sympify(v) for v in row] for row in doc["matrix"]["entries"]])
    assert T * sympy.Matrix([a, b, c, d, e, f]) == sympy.Matrix(s)


def test_derive_reproduces_the_lecture_2d_example(capsys):
    doc = derive_json(capsys, "conv2d", "--input", "a,b,c,d;e,f,g,h;i,j,k,l", "--kernel", "w,x;y,z")
    a, b, c, e, f, g, w, x, y, z = sympy.symbols("a b c e f g w x y z")
    s = [sympy.sympify(t) for t in doc["outputs"]]
    assert s[0] == w * a + x * b + y * e + z * f
    assert s[1] == w * b + x * c + y * f + z * g
    assert doc["output_shape"] == [1, 2, 3] and doc["verified"] is True


def test_derive_numeric_kernel_and_valid_mode(capsys):
    doc = derive_json(capsys, "conv1d", "--input", "a,b,c,d", "--kernel", "1,0,-1")
    a, b, c, d = sympy.symbols("a b c d")
    assert [sympy.sympify(t) for t in doc["outputs"]] == [a - c, b - d]


def test_derive_summarises_large_layers_and_verifies_them(capsys):
    doc = derive_json(capsys, "conv2d", "--input", "14x14", "--kernel", "5x5", "--in-channels", "6",
                      "--out-channels", "16")
    assert doc["matrix"]["shape"] == [1600, 1176] and doc["matrix"]["nnz"] == 240000
    assert doc["matrix"]["distinct_symbols"] == 2400 and doc["matrix"]["entries"] is None
    assert doc["verified"] is True and doc["verification"]["terms"] == 240000


def test_derive_text_and_latex(capsys):
    assert main(["derive", "conv2d", "--input", "3x3", "--kernel", "2x2", "--stride", "1",
                 "--padding", "1", "--in-channels", "2", "--out-channels", "2", "--groups", "2"]) == 0
    out = capsys.readouterr().out
    assert "block diagonal over 2 groups" in out and "verified against the sum formula: yes" in out
    assert main(["derive", "conv1d", "--input", "4", "--kernel", "2", "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert r"\left[\begin{matrix}" in out and r"s_{0} &= u_{0} w_{0} + u_{1} w_{1}" in out


@pytest.mark.parametrize("args,fragment", [
    (["conv1d", "--input", "0", "--kernel", "3"], "--input: size 0"),
    (["conv1d", "--input", "-4", "--kernel", "3"], "--input: sizes in '-4' must be >= 1"),
    (["conv1d", "--input", "6", "--kernel", "3", "--stride", "0"], "stride: 0 must be >= 1"),
    (["conv1d", "--input", "3", "--kernel", "5", "--mode", "valid"], "larger than the padded input"),
    (["conv1d", "--input", "a,,b", "--kernel", "2"], "--input: empty entry"),
    (["conv1d", "--input", "a,b$,c", "--kernel", "2"], "neither a symbol name"),
    (["conv2d", "--input", "a,b,c;d,e", "--kernel", "2x2"], "row 2 has 2 entries but row 1 has 3"),
    (["conv1d", "--input", "a;b", "--kernel", "1"], "conv1d takes one row"),
    (["conv2d", "--input", "6", "--kernel", "3x3"], "2-D needs 2"),
    (["conv1d", "--input", "a,b,a", "--kernel", "2"], "appears more than once"),
    (["conv1d", "--input", "a,b,c", "--kernel", "a,x"], "also appears in --input"),
    (["conv1d", "--input", "6", "--kernel", "3", "--padding", "1", "--mode", "same"], "give one of them"),
    (["conv2d", "--input", "4x4", "--kernel", "3x3", "--in-channels", "3", "--groups", "2"], "groups: 2"),
    (["conv1d", "--input", "6", "--kernel", "1/0"], "divides by zero"),
])
def test_derive_bad_input_is_one_line_exit_2(args, fragment, capsys):
    assert main(["derive", *args]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("cnnspec derive: error: ")
    assert fragment in err
    assert out == ""


def test_bad_input_in_a_real_process_has_no_traceback():
    code, out, err = run_cli("derive", "conv2d", "--input", "a,b,c;d,e", "--kernel", "2x2")
    assert code == 2 and out == "" and "Traceback" not in err
    assert err == "cnnspec derive: error: --input: row 2 has 2 entries but row 1 has 3; every row " \
                  "needs the same length\n"
    code, out, err = run_cli("derive", "conv9d", "--input", "3", "--kernel", "2")
    assert code == 2 and "invalid choice: 'conv9d'" in err and "Traceback" not in err


def test_prove_json_follows_the_report_schema(capsys):
    code, out, err = in_process(capsys, "prove", "conv.flip", "conv.lecture.examples", "--format", "json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["kind"] == "prove" and rep["verdict"] == "pass"
    assert {c["id"] for c in rep["claims"]} == {"conv.flip", "conv.lecture.examples"}
    for c in rep["claims"]:
        assert {"id", "statement", "source", "method", "status", "examples", "message",
                "counterexample", "max_error_over_bound"} <= set(c)
    assert {"python", "torch", "device", "seed"} <= set(rep["environment"])


def test_prove_text_and_prefix(capsys):
    assert main(["prove", "conv.equivariance.*"]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS") == 4 and "4 of 4 claims hold" in out


def test_prove_unknown_claim_exit_2(capsys):
    code, out, err = in_process(capsys, "prove", "conv.nope")
    assert code == 2 and "'conv.nope' matches no claim" in err and err.count("\n") == 1


def test_prove_exit_1_when_a_claim_fails(monkeypatch, capsys):
    from cnnspec.claims import REGISTRY, Claim, Outcome

    monkeypatch.setitem(REGISTRY, "test.false", Claim("test.false", "false", "test", "exact",
                                                      lambda: Outcome(False, "it is false")))
    assert main(["prove", "test.false", "conv.flip"]) == 1
    assert "failing: test.false" in capsys.readouterr().out


@pytest.mark.parametrize("claim,words", [
    ("conformance.conv.shape", "conformance.conv.shape is a claim about a target: cnnspec validate TARGET "
                               "--op OP --claims conformance.conv.shape"),
    ("trained.conv.toeplitz", "is a claim about a trained model"),
    ("conformance.*", "selects only claims about a target or a trained model"),
    ("conv.flp", "'conv.flp' matches no claim; did you mean conv.flip"),
])
def test_prove_refuses_claims_that_need_a_subject_and_suggests_near_ids(claim, words, capsys):
    """A conformance claim used to print SKIP and then "1 of 1 claims hold", exit 0."""
    code, out, err = in_process(capsys, "prove", claim)
    assert code == 2 and out == "" and words in err and len(err.strip().splitlines()) == 1, (out, err)

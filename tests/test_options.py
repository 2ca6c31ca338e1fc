"""Every count, time and seed option has a range; outputs are checked before any work; options that
mean nothing (an empty list, a --spec without --model) are usage errors: one line, exit 2."""
import math

import numpy as np
import pytest

from cnnspec import options
from cnnspec.cli import main
from cnnspec.errors import UsageError

OP = ["validate", "cnnspec.conformance.shims.numpy_ops:conv2d", "--op", "conv2d"]


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as e:          # argparse's errors
        code = e.code
    out = capsys.readouterr()
    return code, out.err


@pytest.mark.parametrize("argv,words", [
    (OP + ["--timeout", "nan"], "--timeout: nan is not a number of seconds in (0, 86400]"),
    (OP + ["--timeout", "inf"], "inf is not a number of seconds"),
    (OP + ["--timeout", "-1"], "-1 is not a number of seconds"),
    (OP + ["--shrink-seconds", "nan"], "--shrink-seconds: nan is not a number of seconds in [0, 3600]"),
    (OP + ["--examples", "100000000"], "--examples: 100,000,000 is outside [1, 10,000]"),
    (OP + ["--seed", "-5"], "--seed: -5 is outside [0, 4,294,967,295]"),
    (["vectors", "export", "/tmp/never-written", "--count", "100000000"], "--count: 100,000,000 is outside"),
    (["train", "lenet5", "--epochs", "99999999999999999999"], "--epochs: 99,999,999,999,999,999,999 is outside"),
    (["verify", "--seed", "-5"], "--seed: -5 is outside"),
    (["verify", "--claims", ","], "--claims: ',' names nothing"),
    (["verify", "--stages", ""], "--stages: '' names nothing"),
    (["verify", "--stages", "spec", "--out", "/proc/cnnspec-report"], "--out: cannot write under '/proc'"),
    (["vectors", "export", ""], "dir: an empty path names no folder"),
    (["validate", "--spec", "lenet5"], "--spec: 'lenet5' applies to a model; give --model"),
    (["validate", "x.py:f", "--model", "reference.lenet:LeNet5", "--spec", "lenet5"], "beside --model"),
    (OP + ["--report", "/sys/cnnspec"], "--report: cannot write under '/sys'"),
])
def test_out_of_range_and_meaningless_options_are_one_line_exit_2(capsys, argv, words):
    code, err = run(capsys, *argv)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err


def test_outputs_below_a_file_are_refused_before_work(capsys, tmp_path):
    (tmp_path / "f").write_text("x")
    for argv in (["verify", "--stages", "spec", "--out", str(tmp_path / "f" / "r")],
                 OP + ["--report", str(tmp_path / "f" / "r")],
                 ["vectors", "export", str(tmp_path / "f" / "v")]):
        code, err = run(capsys, *argv)
        assert code == 2 and "is a file, not a folder" in err, err


def test_vectors_export_refuses_a_folder_with_files_unless_forced(capsys, tmp_path):
    (tmp_path / "README.md").write_text("mine")
    code, err = run(capsys, "vectors", "export", str(tmp_path), "--count", "1")
    assert code == 2 and "is not empty" in err and "--force" in err
    assert (tmp_path / "README.md").read_text() == "mine"
    code, _ = run(capsys, "vectors", "export", str(tmp_path), "--count", "1", "--force")
    assert code == 0 and (tmp_path / "index.json").exists()


def test_a_data_error_in_the_training_stage_exits_2_before_the_run(capsys, tmp_path):
    from cnnspec.reference import data

    for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        data.write_idx(tmp_path / name, np.zeros((4, 28, 28), np.uint8))
    for name in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        data.write_idx(tmp_path / name, np.zeros(3, np.uint8))          # 3 labels for 4 images
    code, err = run(capsys, "verify", "--stages", "training", "--data", str(tmp_path),
                    "--out", str(tmp_path / "r"))
    assert code == 2 and "4 images but" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


def test_the_library_checks_say_the_rule():
    assert options.check_count("12", "n", (1, 20)) == 12
    assert options.check_seconds(0, "s", options.SHRINK, open_low=False) == 0.0
    for bad in (math.nan, math.inf, -1.0, 0.0, 86_401):
        with pytest.raises(UsageError, match=r"timeout: .* \(0, 86400\]"):
            options.check_seconds(bad, "timeout")
    with pytest.raises(UsageError, match="is not a whole number"):
        options.check_count("1e3", "n", (1, 20))
    with pytest.raises(UsageError, match="outside"):
        options.check_count(True + 20, "n", (1, 20))


def test_output_folder_probes_and_leaves_nothing(tmp_path):
    target = tmp_path / "a" / "b" / "c"
    assert options.output_folder(target, "--out") == target
    assert not (tmp_path / "a").exists()                 # the folders made for the probe are gone
    assert options.output_folder(tmp_path, "--out") == tmp_path and list(tmp_path.iterdir()) == []


def test_validate_op_refuses_a_nan_timeout_before_starting_a_worker():
    from cnnspec.conformance.runner import validate_op

    with pytest.raises(UsageError, match="timeout: nan"):
        validate_op("cnnspec.conformance.shims.numpy_ops:conv2d", "conv2d", timeout=math.nan)
    with pytest.raises(UsageError, match="examples: 100,000,000 is outside"):
        validate_op("cnnspec.conformance.shims.numpy_ops:conv2d", "conv2d", examples=100_000_000)

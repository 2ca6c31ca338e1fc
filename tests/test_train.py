"""reference/train.py and ``cnnspec train``: short real runs, resume, checkpoints, bad input.

The data is a real Fashion-MNIST subset written as an IDX folder (or, where Debian's package is not
installed, a generated set whose classes are learnable), so every run also goes through the reader.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnspec.errors import UsageError
from cnnspec.reference import data, train as trainer

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: on a shared 2-core machine two OpenMP threads wait on each other
    (3-5x slower under load, measured); results do not depend on it."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def write_subset(folder: Path, n_train: int, n_test: int) -> Path:
    """The first images of Fashion-MNIST, or learnable generated ones (a bar whose row is the class)."""
    folder.mkdir(parents=True, exist_ok=True)
    if Path(data.DEFAULT_ROOT).is_dir():
        ds = data.load()
        parts = {"train-images-idx3-ubyte.gz": ds.train_images[:n_train], "train-labels-idx1-ubyte.gz":
                 ds.train_labels[:n_train], "t10k-images-idx3-ubyte.gz": ds.test_images[:n_test],
                 "t10k-labels-idx1-ubyte.gz": ds.test_labels[:n_test]}
        for name, t in parts.items():
            data.write_idx(folder / name, t.numpy().astype(np.uint8))
        return folder
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("t10k", n_test)):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(y):
            r = 3 + 2 * int(c) + rng.integers(-1, 2)
            x[i, r:r + 2, 4:24] = 255
        data.write_idx(folder / f"{split}-images-idx3-ubyte.gz", x)
        data.write_idx(folder / f"{split}-labels-idx1-ubyte.gz", y)
    return folder


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return write_subset(tmp_path_factory.mktemp("fashion-small"), 2000, 1000)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_subset(tmp_path_factory.mktemp("fashion-tiny"), 600, 200)


def test_short_run_learns(small, tmp_path):
    m = trainer.train("lenet5", data=str(small), recipe="lenet5-quick", epochs=4, device="cpu",
                      out=str(tmp_path), progress=False)
    h = m["history"]
    assert [e["epoch"] for e in h] == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]  # tested every half epoch
    assert h[-1]["train_loss"] < 0.75 * h[0]["train_loss"]          # the loss falls
    assert m["test_acc"] >= 0.55                                    # chance is 0.10
    assert all(h[i]["elapsed_s"] < h[i + 1]["elapsed_s"] for i in range(len(h) - 1))
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["test_acc"] == m["test_acc"] and saved["history"] == h
    assert saved["recipe"]["name"] == "lenet5-quick" and len(saved["code_sha256"]) == 64
    assert saved["data"]["train"] == 2000 and saved["images_per_s"] > 0
    sd = torch.load(tmp_path / "model.pt", weights_only=True)
    assert set(sd) >= {"C1.weight", "C3.weight", "OUTPUT.bias"}


def test_resume_gives_the_same_weights(tiny, tmp_path):
    kw = dict(data=str(tiny), recipe="lenet5-quick", epochs=3, device="cpu", progress=False, seed=7)
    whole = trainer.train("lenet5", out=str(tmp_path / "whole"), **kw)
    cut = trainer.train("lenet5", out=str(tmp_path / "cut"), stop_after_epoch=1, **kw)
    assert cut["interrupted"] and cut["history"][-1]["epoch"] == 1.0
    ck = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)   # loadable, safely
    assert ck["meta"]["epoch"] == 1
    resumed = trainer.train("lenet5", out=str(tmp_path / "cut"), **kw)
    assert resumed["resumed_from_epoch"] == 1 and not resumed["interrupted"]
    a = torch.load(tmp_path / "whole" / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "cut" / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)                 # bit for bit
    assert [e["test_acc"] for e in whole["history"]] == [e["test_acc"] for e in resumed["history"]]
    trainer.train("lenet5", out=str(tmp_path / "other"), **{**kw, "seed": 8})
    c = torch.load(tmp_path / "other" / "model.pt", weights_only=True)
    assert not torch.equal(c["C1.weight"], a["C1.weight"])          # the seed matters


def test_a_different_run_does_not_resume(tiny, tmp_path):
    trainer.train("lenet5", data=str(tiny), recipe="lenet5-quick", epochs=1, device="cpu",
                  out=str(tmp_path), progress=False, seed=0)
    with pytest.raises(UsageError, match="written by a different run"):
        trainer.train("lenet5", data=str(tiny), recipe="lenet5-quick", epochs=1, device="cpu",
                      out=str(tmp_path), progress=False, seed=1)


def test_corrupt_checkpoint_is_one_line(tiny, tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UsageError) as e:
        trainer.train("lenet5", data=str(tiny), recipe="lenet5-quick", out=str(tmp_path), progress=False)
    assert "cannot load the checkpoint" in str(e.value) and "\n" not in str(e.value)


def test_target_stops_the_run(small, tmp_path):
    m = trainer.train("lenet5", data=str(small), recipe="lenet5-quick", epochs=4, device="cpu",
                      progress=False, target_acc=0.3)
    assert m["time_to_target_s"] == m["history"][-1]["elapsed_s"] and m["test_acc"] >= 0.3
    assert m["history"][-1]["epoch"] < 4 and m["history"][-1]["test_acc"] >= 0.3
    assert all(e["test_acc"] < 0.3 for e in m["history"][:-1])


def test_translation_moves_content():
    from cnnspec.reference.shifts import translate

    x = torch.arange(2 * 16, dtype=torch.float32).reshape(2, 1, 4, 4)
    out = translate(x, torch.tensor([1, 0]), torch.tensor([0, -2]), fill=-1.0)
    assert torch.equal(out[0, 0, 1:], x[0, 0, :3]) and torch.all(out[0, 0, 0] == -1)
    assert torch.equal(out[1, 0, :, :2], x[1, 0, :, 2:]) and torch.all(out[1, 0, :, 2:] == -1)


def cli(*args, cwd=ROOT):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "cnnspec", "train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_trains_and_verifies(tiny, tmp_path):
    r = cli("lenet5", "--data", str(tiny), "--epochs", "1", "--device", "cpu", "--out",
            str(tmp_path), "--quiet")
    assert r.returncode in (0, 1), r.stderr
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep["kind"] == "train" and rep["target"] == "reference:lenet5"
    ids = {c["id"]: c["status"] for c in rep["claims"]}
    assert ids["trained.conv.toeplitz"] == "pass" and ids["trained.maxpool.invariance"] == "pass"
    assert ids["training.target_accuracy"] == "skipped"             # --epochs 1 shortens the recipe
    assert (tmp_path / "metrics.json").exists() and (tmp_path / "checkpoint.pt").exists()
    assert json.loads(r.stdout.strip().splitlines()[-1])["model"] == "lenet5"


def cli_in_process(capsys, *args) -> tuple[int, str]:
    from cnnspec.cli import main

    try:
        code = main(["train", *args])
    except SystemExit as e:  # argparse's errors
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("args, words", [
    (["lenet7"], "invalid choice: 'lenet7'"),
    (["lenet5", "--epochs", "0"], "--epochs: 0 is outside [1, 10,000]"),
    (["lenet5", "--data", "/nonexistent/mnist"], "no such folder"),
    (["lenet5", "--seed", "-3"], "-3 is outside [0, 4,294,967,295]"),
    (["lenet5", "--recipe", "fastest"], "--recipe 'fastest': not one of"),
    (["lenet5", "--target-acc", "91"], "--target-acc 91.0: must be a fraction in (0, 1]"),
])
def test_cli_bad_input_is_one_line_exit_2(capsys, args, words):
    code, err = cli_in_process(capsys, *args)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err


def test_cli_corrupt_data_file(capsys, tiny, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in tiny.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    blob = (bad / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (bad / "t10k-labels-idx1-ubyte.gz").write_bytes(blob[: len(blob) - 9])
    code, err = cli_in_process(capsys, "lenet5", "--data", str(bad), "--out", str(tmp_path / "o"))
    assert code == 2 and "truncated gzip stream" in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cli_cuda_without_a_gpu(capsys, tiny, tmp_path):
    code, err = cli_in_process(capsys, "lenet5", "--data", str(tiny), "--device", "cuda",
                               "--out", str(tmp_path))
    assert code == 2 and "torch sees no CUDA device" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["lenet5", "lenet5-1998", "lenet5-quick"])
def test_recipe_reaches_its_target(recipe, tmp_path):
    m = trainer.train(trainer.RECIPES[recipe]["model"], recipe=recipe, out=str(tmp_path), progress=False)
    assert m["test_acc"] >= m["target_acc"], m["history"]


def test_recipe_seeds_reports_mean_and_std(tiny, tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import recipe_seeds

    out = tmp_path / "seeds.json"
    assert recipe_seeds.main(["lenet5", "--recipe", "lenet5-quick", "--seeds", "0", "1",
                              "--data", str(tiny), "--device", "cpu", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    accs = [run["test_acc"] for run in r["runs"]]
    assert [run["seed"] for run in r["runs"]] == [0, 1]
    assert r["runs"][0]["history"] != r["runs"][1]["history"]                 # two different runs
    assert r["summary"]["mean"] == pytest.approx(sum(accs) / 2, abs=0)
    assert r["summary"]["std"] == pytest.approx(abs(accs[0] - accs[1]) / 2 ** 0.5, rel=1e-12)
    assert "±" in capsys.readouterr().out
    assert recipe_seeds.main(["lenet5", "--data", str(tmp_path / "none"), "--seeds", "0"]) == 2
    assert "recipe_seeds: error:" in capsys.readouterr().err


def test_benchmark_flop_count_is_the_spec_multiply_adds():
    # bench_train's FLOP/s use forward_macs from the module's hooks; it must equal the spec's count
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_train
    from cnnspec.spec.architectures import lenet5

    x = torch.zeros(1, 1, 32, 32)
    assert bench_train.forward_macs(bench_train.tutorial_lenet(), x) == lenet5().macs == 416_520
    from cnnspec.reference.models import build

    assert bench_train.forward_macs(build("lenet5"), x) == lenet5().macs
    torch.manual_seed(3)
    a = bench_train.tutorial_lenet()
    torch.manual_seed(3)
    b = build("lenet5")                       # the baseline's model starts where the reference's does
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_a_checkpoint_of_other_recipe_settings_does_not_resume(tiny, tmp_path, monkeypatch):
    kw = dict(data=str(tiny), recipe="lenet5-quick", epochs=2, device="cpu", progress=False,
              out=str(tmp_path), stop_after_epoch=1)
    trainer.train("lenet5", **kw)
    monkeypatch.setitem(trainer.RECIPES, "lenet5-quick", dict(trainer.RECIPES["lenet5-quick"], lr=1e-2))
    with pytest.raises(UsageError, match=r"other settings of recipe lenet5-quick \(lr differ\)"):
        trainer.train("lenet5", **kw)


def test_degradation_bad_checkpoint_is_one_line_exit_2(tiny, tmp_path, capsys):
    (tmp_path / "plain20").mkdir()
    (tmp_path / "plain20" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert trainer.main(["degradation", "--data", str(tiny), "--out", str(tmp_path), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("reference.train: error:") and "cannot load the checkpoint" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# --- checkpoints that load safely but are not ours; data identity; stale temporaries ---------------

@pytest.fixture(scope="module")
def one_epoch(tiny, tmp_path_factory):
    """A real checkpoint after one epoch of the quick recipe (the start of every malformed one)."""
    out = tmp_path_factory.mktemp("one-epoch")
    trainer.train("lenet5", data=str(tiny), recipe="lenet5-quick", epochs=2, device="cpu",
                  progress=False, out=str(out), stop_after_epoch=1)
    return torch.load(out / "checkpoint.pt", weights_only=True)


def _broken(ck: dict, case: str):
    ck = {k: (dict(v) if isinstance(v, dict) else v) for k, v in ck.items()}
    if case == "no meta":
        del ck["meta"]
    elif case == "a list":
        return [1, 2, 3]
    elif case == "epoch a string":
        ck["meta"]["epoch"] = "1"
    elif case == "no history":
        del ck["meta"]["history"]
    elif case == "history not JSON":
        ck["meta"]["history"] = "{not json"
    elif case == "weights of another shape":
        k = next(iter(ck["model"]))
        ck["model"][k] = torch.zeros(3, 3)
    elif case == "optimizer of another kind":
        ck["optimizer"] = {"state": {}, "param_groups": []}
    return ck


@pytest.mark.parametrize("case,words", [
    ("no meta", "not model, optimizer and meta"), ("a list", "it holds a list"),
    ("epoch a string", "meta['epoch'] is str, not int"), ("no history", "meta['history'] is missing"),
    ("history not JSON", "not JSON"), ("weights of another shape", "do not fit lenet5"),
    ("optimizer of another kind", "do not fit lenet5"),
])
def test_a_malformed_checkpoint_is_one_line(one_epoch, tiny, tmp_path, case, words):
    torch.save(_broken(one_epoch, case), tmp_path / "checkpoint.pt")
    with pytest.raises(UsageError) as e:
        trainer.train("lenet5", data=str(tiny), recipe="lenet5-quick", epochs=2, device="cpu",
                      progress=False, out=str(tmp_path))
    assert words in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_a_recipe_of_another_model_is_one_line(tiny):
    with pytest.raises(UsageError, match="a recipe of resnet20 .*not of lenet5; use one of lenet5"):
        trainer.train("lenet5", data=str(tiny), recipe="resnet20-cpu", device="cpu", progress=False)


def test_resume_identifies_the_data_by_content_not_path(tiny, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(tiny, data_dir)
    kw = dict(recipe="lenet5-quick", epochs=2, device="cpu", progress=False, out=str(tmp_path / "out"))
    trainer.train("lenet5", data=str(data_dir), stop_after_epoch=1, **kw)
    moved = tmp_path / "moved"
    shutil.copytree(data_dir, moved)                      # same content elsewhere: resumes
    ds = data.load(data_dir)
    x = ds.train_images.numpy().copy()
    x[0] = 255 - x[0]                                    # other content at the same path: refused
    data.write_idx(data_dir / "train-images-idx3-ubyte.gz", x)
    with pytest.raises(UsageError, match="data_sha256"):
        trainer.train("lenet5", data=str(data_dir), **kw)
    m = trainer.train("lenet5", data=str(moved), **kw)
    assert [h["epoch"] for h in m["history"]][-1] == 2.0


def test_a_stale_checkpoint_temporary_is_removed(tiny, tmp_path):
    stale = tmp_path / ".checkpoint.pt.999999999.abc.tmp"    # a writer that no longer exists
    tmp_path.mkdir(exist_ok=True)
    stale.write_bytes(b"half a checkpoint")
    trainer.train("lenet5", data=str(tiny), recipe="lenet5-quick", epochs=1, device="cpu",
                  progress=False, out=str(tmp_path), stop_after_epoch=1)
    assert not stale.exists() and (tmp_path / "checkpoint.pt").exists()


def test_train_out_is_checked_before_any_training(capsys, tiny, tmp_path):
    (tmp_path / "file").write_text("x")
    for out, words in ((str(tmp_path / "file" / "sub"), "is a file, not a folder"), ("/proc/cnnspec", "under '/proc'")):
        code, err = cli_in_process(capsys, "lenet5", "--data", str(tiny), "--out", out)
        assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err

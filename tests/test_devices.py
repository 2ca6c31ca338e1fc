"""cnnspec.devices: the one device resolver."""
import pytest
import torch

from cnnspec.devices import devices_for, resolve_device
from cnnspec.errors import UsageError

CUDA = torch.cuda.is_available()


def test_auto_and_cpu():
    assert resolve_device("auto") == resolve_device(None) == ("cuda" if CUDA else "cpu")
    assert resolve_device("cpu") == "cpu"
    assert devices_for("auto") == (["cpu", "cuda"] if CUDA else ["cpu"])
    assert devices_for("cpu") == ["cpu"]


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "CPU", ""])
def test_unknown_devices_are_usage_errors(bad):
    with pytest.raises(UsageError, match=r"^--device: .* is not one of auto, cpu, cuda, cuda:N$"):
        resolve_device(bad, argument="--device")


@pytest.mark.skipif(CUDA, reason="needs a machine without CUDA to see the refusal")
def test_cuda_without_a_gpu_is_refused_not_replaced_by_the_cpu():
    for name in ("cuda", "cuda:0"):
        with pytest.raises(UsageError, match="torch sees no CUDA device"):
            resolve_device(name)

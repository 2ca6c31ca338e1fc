"""The baseline a user would write: LeNet-5 on Fashion-MNIST with a DataLoader over a TensorDataset,
batch 64, Adam 1e-3, test after each epoch, as in PyTorch's beginner tutorials. Prints the epoch and
the time at which test accuracy first reaches the target (default 0.90): ``train_s`` counts from the
first training step, evaluation included; ``wall_s`` from the start of the script.

    python benchmarks/baselines/tutorial_lenet.py [TARGET] [IDX_FOLDER]

``benchmarks/bench_train.py`` runs this loop, on this :func:`model`, beside cnnspec's recipe.
"""
import gzip
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

ROOT = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist


def model() -> nn.Module:
    """The lecture's LeNet-5 as a user writes it: NCHW, conv -> ReLU -> pool, FC 400-120-84-10."""
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                         nn.ReLU(), nn.Linear(84, 10))


def idx(path):
    data = gzip.open(path, "rb").read()
    nd = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * nd).reshape(dims)


def images(root, name):
    x = torch.from_numpy(idx(f"{root}/{name}-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
    return F.pad((x - 0.2860) / 0.3530, (2, 2, 2, 2), value=-0.2860 / 0.3530)


def main(target=0.90, root=ROOT):
    t0 = time.perf_counter()
    xtr, xte = images(root, "train"), images(root, "t10k")
    ytr = torch.from_numpy(idx(f"{root}/train-labels-idx1-ubyte.gz").astype(np.int64))
    yte = torch.from_numpy(idx(f"{root}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    torch.manual_seed(0)
    net = model()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    train = DataLoader(TensorDataset(xtr, ytr), batch_size=64, shuffle=True)
    test = DataLoader(TensorDataset(xte, yte), batch_size=1000)
    t1 = time.perf_counter()
    for epoch in range(1, 31):
        net.train()
        for x, y in train:
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            acc = sum((net(x).argmax(1) == y).sum().item() for x, y in test) / len(yte)
        if acc >= target:
            break
    now = time.perf_counter()
    print(json.dumps({"epochs": epoch, "test_acc": acc, "train_s": round(now - t1, 2),
                      "wall_s": round(now - t0, 2)}))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.90, sys.argv[2] if len(sys.argv) > 2 else ROOT)

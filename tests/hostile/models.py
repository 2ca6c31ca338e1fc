"""Hostile model factories for ``cnnspec validate --model``: each attacks the process building it."""
import ctypes
import os
import sys
import time


def exits_zero():
    sys.exit(0)


def os_exits_zero():
    os._exit(0)


def segfaults():
    ctypes.string_at(0)


def hangs():
    time.sleep(1000)


def floods():
    sys.stdout.write("model-flood " * 100_000 + "\n")
    from cnnspec.reference.lenet import LeNet5
    return LeNet5()

"""A module that ends the process importing it."""
import os

os._exit(0)


def factory():  # never reached
    raise AssertionError

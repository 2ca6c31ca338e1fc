"""cnnspec: the mathematics of convolutional networks, stated exactly and checked against real code."""
__version__ = "0.1.0"

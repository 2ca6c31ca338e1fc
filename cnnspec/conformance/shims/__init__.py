"""Independent third-party style implementations that pass every claim: a NumPy shim (all four
ops) and a scipy.signal shim (conv1d, conv2d). Examples of targets, and peers of the oracle."""

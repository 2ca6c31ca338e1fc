"""A target module that fails while being imported."""
raise RuntimeError("this module needs a GPU driver")

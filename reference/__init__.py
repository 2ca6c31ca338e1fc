"""Reference PyTorch implementations of the lecture's and the papers' networks (see models.build)."""

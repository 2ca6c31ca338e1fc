"""Claims over an implementation (an op or a whole model), target loading, isolation, runner."""

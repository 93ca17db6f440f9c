"""One module per process; each exposes ``step(model)`` and is called in the order of the model docstring."""

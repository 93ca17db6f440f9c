"""Entry points: one run (``experiments.run``), sweeps, sensitivity analysis and reproduction."""

"""A sweep on a real Dask cluster (a scheduler and two worker processes started here) gives
exactly the outputs of the same sweep run serially."""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.compose import compose_spec
from experiments.store import ExperimentStore
from experiments.sweep import run_sweep

distributed = pytest.importorskip("distributed")

TOY_SWEEP = ["experiment=smoke", "run.years=1", "experiment.replications=2",
             "experiment.figures=false", "execution.progress=false"]


def test_sweep_on_a_dask_cluster_equals_the_serial_sweep(tmp_path):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        assert len(cluster.workers) == 2
        spec, execution = compose_spec([*TOY_SWEEP, f"experiment.out={tmp_path / 'dask'}",
                                        "execution=dask",
                                        f"execution.address={cluster.scheduler_address}"])
        on_dask = run_sweep(spec, execution)
    spec, execution = compose_spec([*TOY_SWEEP, f"experiment.out={tmp_path / 'serial'}",
                                    "execution=serial"])
    serial = run_sweep(spec, execution)

    pd.testing.assert_frame_equal(ExperimentStore(on_dask).read_runs(),
                                  ExperimentStore(serial).read_runs())
    for name in ("arms.csv", "paired_differences.csv", "series.csv"):
        assert (on_dask / "summary" / name).read_bytes() == (serial / "summary" / name).read_bytes()

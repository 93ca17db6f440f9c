"""The evaluate= hook as docs/EXPERIMENTS.md documents it: a custom outcome through a sweep."""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.compose import compose_spec
from experiments.model_function import model_outputs, register_outcome
from experiments.sweep import run_sweep
from sim.parameters import ConfigError
from sim.run import run


def with_secondary_inadequate(config, seed):
    results = run(config, seed=seed, progress=False)
    outputs = model_outputs(results)
    ts = results.timeseries
    last = ts[(ts["step"] == ts["step"].max()) & (ts["phase"] == "secondary")]
    outputs["secondary_inadequate_share"] = float(last["n_inadequate"].sum() / last["n_inspected"].sum())
    return outputs


def test_a_custom_outcome_is_summarised(tmp_path):
    with pytest.raises(ConfigError, match="secondary_inadequate_share"):
        compose_spec(["experiment=smoke", "experiment.outcomes=[secondary_inadequate_share]"])
    register_outcome("secondary_inadequate_share")
    spec, execution = compose_spec([
        "experiment=smoke", "experiment.outcomes=[secondary_inadequate_share,mean_gap]",
        "run.years=1", "execution=serial", "execution.progress=false", "experiment.figures=false",
        f"experiment.out={tmp_path / 'hook'}"])
    folder = run_sweep(spec, execution, evaluate=with_secondary_inadequate)
    arms = pd.read_csv(folder / "summary" / "arms.csv")
    custom = arms[arms["outcome"] == "secondary_inadequate_share"]
    assert set(custom["subgroup"]) == {"all"} and (custom["n"] == 3).all()
    assert set(arms[arms["outcome"] == "mean_gap"]["subgroup"]) > {"all"}


def test_headship_spells_and_survival_by_hand():
    from scipy import stats

    from experiments.figures import head_survival, headship_spells
    events = pd.DataFrame({
        "event": ["head_appointed", "head_left", "head_appointed", "head_appointed", "head_left",
                  "head_appointed"],
        "route": ["external", None, "internal", "acting", None, "external"],
        "step": [3, 9, 6, 2, 4, 0],
        "school_id": [1, 1, 2, 3, 3, 4], "person_id": [10, 10, 20, 30, 30, 40],
        "phase": ["primary"] * 6})
    spells = headship_spells(events, steps=12)
    # school 1: 2 years, ended; school 2: censored after 2 years; acting and step-0 heads left out
    assert spells[["years", "ended"]].values.tolist() == [[2.0, True], [2.0, False]]
    sf = stats.ecdf(stats.CensoredData(uncensored=[2.0], right=[2.0])).sf
    assert sf.probabilities[0] == 0.5  # one of two at risk leaves at 2 years
    assert head_survival([events], 12, 2018.6).axes[0].get_legend() is not None

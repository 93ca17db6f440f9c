"""A tiny end-to-end run (placeholder until the full suite lands)."""

from dataclasses import replace

from sim import SimConfig, run


def test_toy_world_runs_with_invariants():
    config = SimConfig()
    config = replace(config, world=replace(config.world, source="toy", toy_schools=12),
                     run=replace(config.run, years=3, progress=False, check_invariants=True))
    results = run(config, seed=3)
    assert results.timeseries["step"].max() == 9
    assert len(results.schools) == 12

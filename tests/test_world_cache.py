"""The world a process builds once and copies per run (``sim.world.cached_world``): a run with a
cached world equals a run with a freshly built one byte for byte, runs cannot change each
other's world, and a changed input file is read again."""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.world
from sim.run import run
from sim.world import build_world, cached_world

from conftest import make_config

CORNWALL = {"source": "england", "region": "South West", "local_authority": "Cornwall"}


@pytest.fixture(autouse=True)
def empty_cache():
    sim.world._built_worlds.clear()
    yield
    sim.world._built_worlds.clear()


def written(config, seed: int, folder: Path) -> dict[str, bytes]:
    """Every results file of one run, as bytes; the manifest without its timings."""
    run(config, seed=seed).write(str(folder), figures=False)
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    manifest = json.loads(files.pop("manifest.json"))
    manifest.pop("timings_s")
    files["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
    return files


@pytest.mark.parametrize("world", [CORNWALL, {"source": "synthetic", "region": "North East"}],
                         ids=["england-cornwall", "synthetic-north-east"])
def test_a_run_on_the_cached_world_equals_a_run_on_a_fresh_world(tmp_path, world):
    config = make_config(years=2)
    config = replace(config, world=replace(config.world, **world))
    fresh = written(config, 3, tmp_path / "fresh")  # the cache was empty: built for this run
    assert len(sim.world._built_worlds) == 1
    cached = written(config, 3, tmp_path / "cached")
    assert set(fresh) == set(cached) and len(fresh) > 3
    for name in fresh:
        assert cached[name] == fresh[name], name


def test_each_run_gets_its_own_copy():
    config = make_config(source="toy").world
    first = cached_world(config)
    first.grade[:] = 4
    first.fsm_share *= 2
    first.name = "changed"
    again, fresh = cached_world(config), build_world(config)
    assert again is not first and again.name == fresh.name
    for field in dataclasses.fields(fresh):
        value = getattr(fresh, field.name)
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(getattr(again, field.name), value, err_msg=field.name)


def test_a_changed_input_file_is_read_again(tmp_path):
    data = tmp_path / "england_2018"
    shutil.copytree(Path(sim.world.__file__).parent.parent / "data" / "england_2018", data)
    config = replace(make_config().world, data_dir=str(data), **CORNWALL)
    before = cached_world(config)
    table = pd.read_csv(data / "schools.csv", dtype=str, keep_default_na=False)
    first = table.index[table["urn"] == str(before.school_id[0])][0]
    table.loc[first, "pupils"] = str(int(table.loc[first, "pupils"]) + 1)
    table.to_csv(data / "schools.csv", index=False)
    after = cached_world(config)
    assert after.pupils[0] == before.pupils[0] + 1
    (data / "schools.csv").unlink()
    with pytest.raises(Exception, match="schools.csv"):  # the loader's own message, not a stale world
        cached_world(config)


def test_the_cache_keeps_a_few_worlds():
    for schools in range(1, sim.world.WORLDS_KEPT + 3):
        cached_world(replace(make_config().world, toy_schools=schools))
    assert len(sim.world._built_worlds) == sim.world.WORLDS_KEPT


def test_worlds_handed_to_another_process_are_copied_there_not_built(monkeypatch):
    """What a local worker gets from the experiment process (``experiments.execution``)."""
    import pickle

    config = replace(make_config().world, **CORNWALL)
    built = cached_world(config)
    handed = pickle.loads(pickle.dumps(sim.world.built_worlds()))  # as a worker receives them
    sim.world._built_worlds.clear()
    sim.world.keep_worlds(handed)

    def no_build(config):
        raise AssertionError("the world was built again")

    monkeypatch.setattr(sim.world, "build_world", no_build)
    copied = cached_world(config)
    for field in dataclasses.fields(built):
        value = getattr(built, field.name)
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(getattr(copied, field.name), value, err_msg=field.name)


def test_preflight_leaves_its_world_for_the_runs(monkeypatch):
    from experiments.preflight import preflight

    config = replace(make_config(years=1), world=replace(make_config().world, **CORNWALL))
    preflight({"base": config}, quiet=True)
    monkeypatch.setattr(sim.world, "build_world", lambda config: pytest.fail("built again"))
    run(config, seed=1)

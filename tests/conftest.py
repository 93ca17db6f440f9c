"""Shared builders for the test suite: small configurations, hand-made worlds and models.

Everything here is cheap: toy worlds of a few schools, or one region (~1,000 schools).
Configurations are built from the typed defaults with ``dataclasses.replace`` so a test states
only what it changes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sim.parameters import SimConfig
from sim.world import World

REPO = Path(__file__).resolve().parent.parent
CONF_DIR = REPO / "conf"


def make_config(*, source: str = "toy", toy_schools: int = 12, region: str | None = None,
                years: int = 2, seed: int = 0, world_seed: int = 0,
                check_invariants: bool = True, system_leadership: bool | None = None,
                behaviour: dict | None = None, policy: dict | None = None,
                inspection: dict | None = None, mechanisms: dict | None = None) -> SimConfig:
    """A small, quiet configuration.

    ``source`` is ``toy`` (``toy_schools`` schools) or ``synthetic`` (use ``region`` to keep one
    region). ``system_leadership=None`` keeps the default of the current code base; process
    unit tests switch it off so they test one process at a time. ``policy`` maps lever names
    (``recruitment_incentive``, ``development_programme``) to field overrides; ``mechanisms``
    overrides the issue-8 mechanism switches.
    """
    base = SimConfig()
    world = replace(base.world, source=source, toy_schools=toy_schools, region=region,
                    seed=world_seed, name=f"test_{source}")
    run = replace(base.run, years=years, seed=seed, progress=False, figures=False,
                  check_invariants=check_invariants)
    beh = replace(base.behaviour, **(behaviour or {}))
    pol = base.policy
    if system_leadership is not None:
        pol = replace(pol, system_leadership=replace(pol.system_leadership, enabled=system_leadership))
    if inspection:
        pol = replace(pol, inspection=replace(pol.inspection, **inspection))
    for lever, overrides in (policy or {}).items():
        pol = replace(pol, **{lever: replace(getattr(pol, lever), **overrides)})
    mech = replace(base.mechanisms, **(mechanisms or {}))
    return replace(base, world=world, run=run, behaviour=beh, policy=pol, mechanisms=mech)


def hand_world(n: int = 4, *, phase=0, pupils=300, fsm_share=0.05, setting=0, coastal=False,
               grade=2, terms_since_inspection=0, region=0, name: str = "hand") -> World:
    """A hand-made world of ``n`` schools; every attribute is a scalar or a length-``n`` sequence.

    Defaults give identical urban, non-coastal, 300-pupil primaries in FSM band 1, graded good.
    """
    def arr(value, dtype):
        return np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()

    return World(
        school_id=np.arange(1001, 1001 + n, dtype=np.int64), phase=arr(phase, np.int8),
        pupils=arr(pupils, np.int32), region=arr(region, np.int8),
        local_authority=np.zeros(n, dtype=np.int16), la_names=("Hand LA",),
        x_km=np.linspace(0.0, 10.0, n), y_km=np.zeros(n), setting=arr(setting, np.int8),
        coastal=arr(coastal, bool), fsm_share=arr(fsm_share, np.float64),
        academy=np.zeros(n, dtype=bool), grade=arr(grade, np.int8),
        terms_since_inspection=arr(terms_since_inspection, np.int16), name=name)


def make_model(world: World, *, seed: int = 0, **config_kwargs):
    """A :class:`SchoolSystemModel` on ``world`` with system leadership off unless asked."""
    from sim.model import SchoolSystemModel

    config_kwargs.setdefault("system_leadership", False)
    return SchoolSystemModel(make_config(**config_kwargs), seed=seed, world=world)


def set_params(model, **changes) -> None:
    """Change behavioural parameters of a built model (bypasses validation on purpose)."""
    model.params = replace(model.params, **changes)


def empty_bench(model, school: int) -> None:
    """Remove every senior leader of ``school`` through the model (keeps agents consistent)."""
    s = model.state
    for post in np.nonzero(s.bench_person[school] >= 0)[0]:
        model.remove_senior_leader(school, int(post), reason="left")


@pytest.fixture
def config_builder():
    """The :func:`make_config` builder, as a fixture."""
    return make_config


@pytest.fixture
def world_builder():
    """The :func:`hand_world` builder, as a fixture."""
    return hand_world


@pytest.fixture
def model_builder():
    """The :func:`make_model` builder, as a fixture."""
    return make_model


@pytest.fixture(scope="session")
def slurm_cluster():
    """A real single-node Slurm cluster, started by ``scripts/slurm_cluster.sh`` for the session
    and stopped at its end (a cluster that was already running is used and left running).
    Skips, printing why, where Slurm cannot be started (no root, no apt, no packages)."""
    import subprocess

    script = REPO / "scripts" / "slurm_cluster.sh"

    def cluster(command: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(script), command], capture_output=True, text=True, timeout=600)

    already_running = cluster("status").returncode == 0
    if not already_running:
        started = cluster("start")
        if started.returncode != 0:
            reason = (started.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"Slurm cannot be started here: {reason}")
    yield
    if not already_running:
        cluster("stop")

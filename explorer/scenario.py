"""A scenario as the explorer's form holds it, turned into a checked ``SimConfig``.

The form shows a handful of levers; their units, defaults and allowed values are read from the
configuration dataclasses' declarations in ``sim/parameters.py`` (never retyped here). A
scenario becomes a configuration the way the command line makes one: Hydra composes the world
preset with each form value given as the text of a command-line override (``path=text``), and
``experiments.config.to_sim_config`` checks the result, so a bad value is refused with the
message ``python -m experiments.run`` gives. The region and local authority, picked from lists,
are applied by ``experiments.spec.with_overrides`` (the same checks).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.config import CONF_DIR, to_sim_config
from experiments.spec import with_overrides
from sim.parameters import ConfigError, SimConfig

# The levers on the form, as dotted SimConfig paths, with a short label. Everything else about
# each one (unit, default, range, choices, documentation) comes from its declaration.
LEVERS: tuple[tuple[str, str], ...] = (
    ("policy.system_leadership.enabled", "System leadership (NLEs, LLEs, brokerage)"),
    ("policy.system_leadership.targeting", "Targeting rule"),
    ("policy.system_leadership.budget_gbp_per_year", "Budget"),
    ("policy.system_leadership.deployment_grant_gbp", "Deployment grant"),
    ("policy.system_leadership.nle_quota", "NLE quota"),
    ("policy.recruitment_incentive.enabled", "Recruitment incentive"),
    ("policy.recruitment_incentive.recruitment_multiplier", "Recruitment boost"),
    ("policy.recruitment_incentive.premium_gbp_per_year", "Recruitment premium"),
    ("policy.development_programme.enabled", "Development programme"),
    ("policy.development_programme.places_per_year", "Programme places"),
    ("policy.inspection.regime", "Inspection regime"),
    ("policy.inspection.outstanding_exempt", "Outstanding exemption"),
)
RUN_SETTINGS: tuple[tuple[str, str], ...] = (
    ("run.years", "Years"),
    ("run.seed", "First seed"),
)
MAX_SEEDS = 20  # seeds per scenario in the explorer (sweeps are for more)
ALL = "(all)"


@dataclass(frozen=True)
class Setting:
    """One form field: a declared configuration field with what the form shows beside it."""

    path: str
    label: str
    default: Any
    unit: str
    doc: str
    choices: tuple | None
    low: float | None
    high: float | None

    @property
    def kind(self) -> str:
        """``bool``, ``choice`` or ``number``: which input the form draws."""
        if isinstance(self.default, bool):
            return "bool"
        if self.choices:
            return "choice"
        return "number"

    @property
    def note(self) -> str:
        """Unit, documented default and range, as shown beside the input."""
        default = self.default
        if isinstance(default, bool):
            shown = "on" if default else "off"
        else:
            shown = number_text(default) if isinstance(default, (int, float)) else str(default)
        parts = [f"default {shown}"]
        if self.unit:
            parts.append(self.unit)
        if self.kind == "number" and self.low is not None and self.high is not None:
            parts.append(f"range {number_text(self.low)} to {number_text(self.high)}")
        return "; ".join(parts)


def number_text(value: float) -> str:
    """A number for reading: thousands separated, no trailing .0 (20,000,000; 0.33)."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,g}"


def declared_field(path: str) -> tuple[dataclasses.Field, type]:
    """The dataclass field at a dotted ``SimConfig`` path and the class declaring it."""
    cls: type = SimConfig
    *parents, leaf = path.split(".")
    for name in parents:
        f = {f.name: f for f in dataclasses.fields(cls)}[name]
        cls = type(f.default_factory())  # type: ignore[misc]
    return {f.name: f for f in dataclasses.fields(cls)}[leaf], cls


def setting(path: str, label: str) -> Setting:
    """Describe the field at ``path`` from its declaration in ``sim/parameters.py``."""
    f, cls = declared_field(path)
    meta = f.metadata
    doc = meta.get("doc", "")
    return Setting(path=path, label=label, default=f.default, unit=meta.get("unit", ""),
                   doc=doc, choices=meta.get("choices"), low=meta.get("low"),
                   high=meta.get("high"))


def lever_settings() -> list[Setting]:
    """The levers on the form."""
    return [setting(path, label) for path, label in LEVERS]


def run_settings() -> list[Setting]:
    """Years and seed."""
    return [setting(path, label) for path, label in RUN_SETTINGS]


def world_description(name: str) -> str:
    """The comment at the top of ``conf/world/<name>.yaml`` (what the preset is)."""
    lines = []
    for line in Path(CONF_DIR, "world", f"{name}.yaml").read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").strip())
    return " ".join(lines)


def world_presets() -> list[str]:
    """World presets in ``conf/world`` that need no further input (``gias`` needs a file)."""
    names = []
    for path in sorted(Path(CONF_DIR, "world").glob("*.yaml")):
        if "???" not in path.read_text():
            names.append(path.stem)
    # the small worlds first: the form opens on the one that runs in a moment
    return sorted(names, key=lambda name: (name != "toy", name))


_hydra_lock = threading.Lock()  # Hydra's global state is not thread-safe


def compose_config(world: str, overrides: list[str]) -> SimConfig:
    """The configuration ``python -m experiments.run world=<world> <overrides>`` would run.

    Composed by Hydra from ``conf/`` against the typed schema, then converted and checked by
    ``experiments.config.to_sim_config``: the command line's own steps, so a bad value gets the
    command line's message. Hydra's errors (a value of the wrong type, an unknown key) become
    a ``ConfigError`` with the lines Hydra prints.
    """
    return _composed(world, tuple(overrides))


@functools.lru_cache(maxsize=256)
def _composed(world: str, overrides: tuple[str, ...]) -> SimConfig:
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    if world not in world_presets():
        raise ConfigError(f"world={world!r} is not one of: {', '.join(world_presets())}")
    with _hydra_lock:
        try:
            with initialize_config_dir(config_dir=CONF_DIR, version_base=None):
                cfg = compose("config", overrides=[f"world={world}", *overrides])
        except HydraException as error:
            lines = [str(error).strip()]
            if error.__cause__ is not None:
                lines.append(str(error.__cause__).strip().splitlines()[0])
            raise ConfigError("\n".join(lines)) from None
    return to_sim_config(cfg)


def preset_value(world: str, path: str) -> Any:
    """The value at a dotted path in the command line's configuration for ``world=<world>``
    (what the form starts from; the preset may differ from the documented default)."""
    value: Any = compose_config(world, [])
    for name in path.split("."):
        value = getattr(value, name)
    return value


def override_text(path: str, value: Any) -> str:
    """A form value as a command-line override: ``path=text`` (switches give true / false)."""
    if isinstance(value, bool):
        return f"{path}={'true' if value else 'false'}"
    return f"{path}={str(value).strip()}"


def parse_value(text: Any) -> Any:
    """A number if the text is one (thousands separators allowed), else the text as typed."""
    if not isinstance(text, str):
        return text
    stripped = text.strip().replace(",", "").replace("_", "")
    for kind in (int, float):
        try:
            return kind(stripped)
        except ValueError:
            pass
    return text


@dataclass
class Scenario:
    """What the form holds: a world preset, its part, run length, seeds and lever values.

    ``values`` maps dotted ``SimConfig`` paths to typed values or the text typed into the
    form; only values that differ from the preset are recorded as overrides.
    """

    world: str = "toy"
    region: str | None = None
    local_authority: str | None = None
    n_seeds: int = 1
    values: dict[str, Any] = field(default_factory=dict)

    def overrides(self) -> list[str]:
        """The form's values as command-line overrides (``path=text``)."""
        return [override_text(path, value) for path, value in self.values.items()]

    def area(self) -> dict[str, str]:
        """The region and local authority picked from the form's lists, as dotted paths."""
        out = {}
        if self.region not in (None, "", ALL):
            out["world.region"] = self.region
        if self.local_authority not in (None, "", ALL):
            out["world.local_authority"] = self.local_authority
        return out

    def config(self) -> SimConfig:
        """The checked configuration; a bad value raises ``ConfigError`` with the command
        line's message."""
        n_seeds = parse_value(self.n_seeds)
        if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or not 1 <= n_seeds <= MAX_SEEDS:
            raise ConfigError(f"seeds={self.n_seeds!r} must be a whole number from 1 to {MAX_SEEDS}")
        # names picked from lists may hold commas or quotes: set them as values, not as text
        config = with_overrides(compose_config(self.world, self.overrides()), self.area())
        # the explorer keeps results in memory and shows its own progress bar
        return dataclasses.replace(config, run=dataclasses.replace(config.run, progress=False))

    def seeds(self) -> list[int]:
        """Run seeds: the first seed and the ones after it."""
        first = self.config().run.seed
        return list(range(first, first + int(parse_value(self.n_seeds))))

    def describe(self) -> str:
        """A one-line description for titles."""
        where = self.local_authority or self.region
        where = f" ({where})" if where not in (None, "", ALL) else ""
        changed = [override_text(path.removeprefix("policy."), value)
                   for path, value in self.values.items() if path.startswith("policy.")]
        return f"{self.world}{where}" + (f"; {', '.join(changed)}" if changed else "")


def local_authorities(world: str, region: str | None) -> list[str]:
    """Local authorities of a world preset (optionally one region), for the form's list."""
    return _areas(world, region)[1]


def regions_of(world: str) -> list[str]:
    """Regions with schools in a world preset, for the form's list."""
    return _areas(world, None)[0]


@functools.lru_cache(maxsize=64)
def _areas(world: str, region: str | None) -> tuple[list[str], list[str]]:
    import numpy as np

    from sim.world import REGION_NAMES, build_world
    config = compose_config(world, []).world
    if region not in (None, "", ALL):
        config = dataclasses.replace(config, region=region)
    built = build_world(config)
    present = [REGION_NAMES[i] for i in np.unique(built.region)]
    return present, sorted({built.la_names[i] for i in np.unique(built.local_authority)})

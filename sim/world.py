"""The schools a run starts from: real England (March 2018), a GIAS file, a synthetic England, or a toy world.

A :class:`World` is a table of schools held as numpy arrays (one entry per school). A process
builds each world once and gives every run its own copy (:func:`cached_world`); the model copies
what it changes into its own state. The default world is the real
one (``sim/england.py``, data in ``data/england_2018/``). The synthetic generator below is kept
for scaling benchmarks (``world=synthetic``); its figures come from
``../shared/data/england_reference.md`` and ``regions.csv`` unless marked as an approximation;
``docs/ODD.md`` (section "Initialisation") lists the approximations.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .fingerprint import world_inputs
from .parameters import ConfigError, WorldConfig

PRIMARY, SECONDARY = 0, 1
PHASES = ("primary", "secondary")
URBAN, TOWN, RURAL = 0, 1, 2
SETTINGS = ("urban", "town", "rural")
GRADES = ("outstanding", "good", "requires_improvement", "inadequate")
UNINSPECTED = 0  # grade of a school with no graded inspection yet (never imputed as good)
GOVERNANCE = ("maintained", "academy_converter", "academy_sponsor_led", "free_school", "other_academy")
MAINTAINED, ACADEMY_CONVERTER, ACADEMY_SPONSOR_LED, FREE_SCHOOL, OTHER_ACADEMY = range(len(GOVERNANCE))

# regions.csv (ONS mid-2019 population, land area, LAs, coast). Centroids and coast edges are an
# approximation on a British-National-Grid-like km plane: each region is a square of its land area.
REGIONS = (
    # name, population (m), land km2, LAs, centroid (x, y) km, coast edges
    ("North East", 2.67, 8600, 12, (420, 580), ("east",)),
    ("North West", 7.34, 14100, 23, (355, 470), ("west",)),
    ("Yorkshire and The Humber", 5.50, 15400, 15, (455, 455), ("east",)),
    ("East Midlands", 4.84, 15600, 9, (480, 330), ("east",)),
    ("West Midlands", 5.93, 13000, 14, (385, 280), ()),
    ("East of England", 6.24, 19100, 11, (580, 260), ("east",)),
    ("London", 8.96, 1600, 33, (530, 180), ()),
    ("South East", 9.18, 19100, 19, (490, 130), ("south",)),
    ("South West", 5.62, 23800, 16, (290, 110), ("west", "south")),
)
REGION_NAMES = tuple(r[0] for r in REGIONS)

NATIONAL_SCHOOLS = {PRIMARY: 16_769, SECONDARY: 3_450}  # DfE SPC Jan 2019; BESA 2019 (approx.)
ENGLAND_SCHOOLS = sum(NATIONAL_SCHOOLS.values())  # national quotas and budgets scale by this
MEAN_PUPILS = {PRIMARY: 282, SECONDARY: 965}              # DfE SPC 2019
RURAL_SHARE = {PRIMARY: 0.290, SECONDARY: 0.147}          # PQ 272250, Jul 2019
TOWN_SHARE_OF_RURAL = 0.4      # approximation: "town & fringe" share of the DfE rural class
FSM_NATIONAL = {PRIMARY: 0.158, SECONDARY: 0.141}         # DfE SPC 2019
# Regional FSM relative to England. NE 1.27 and SE 0.80 are published (SPC 2024); others approx.
FSM_REGION_FACTOR = {"North East": 1.27, "North West": 1.12, "Yorkshire and The Humber": 1.05,
                     "East Midlands": 0.92, "West Midlands": 1.10, "East of England": 0.85,
                     "London": 1.12, "South East": 0.80, "South West": 0.85}
FSM_SETTING_FACTOR = (1.15, 0.85, 0.6)   # approximation: urban, town, rural intakes
ACADEMY_SHARE = {PRIMARY: 0.32, SECONDARY: 0.75}          # seed 003 L382-392 (Jan 2019)
ACADEMY_REGION = {"North East": (0.26, 0.64), "North West": (0.15, 0.59)}  # seed 003 L382-392
COASTAL_KM = 5.5                         # Plymouth University coastal-schools definition
# Ofsted grade shares at the start. Aug 2018: published. Aug 2010: 68% good or better published,
# the split within good/outstanding and RI/inadequate is an approximation.
STARTING_GRADE_SHARES = {"2018": (0.21, 0.65, 0.11, 0.04), "2010": (0.17, 0.51, 0.27, 0.05)}
# Typical inspection interval by grade in terms (see processes/inspection.py), used to spread
# the date of the last inspection at the start.
START_INSPECTION_AGE_TERMS = (15, 12, 6, 4)
# Latent-grade sd per unit FSM share (synthetic and toy worlds): schools with more FSM pupils are
# more often graded below good. The direction is in the real data (data/england_2018/schools.csv,
# March 2018: 5.6 % of inspected schools below good in FSM band 1, 12.7 % in band 2, 17.3 % in
# band 3, 23.1 % in band 4); the slope is an assumption.
GRADE_FSM_SLOPE = 2.0


@dataclass
class World:
    """Schools as parallel arrays; index ``i`` is the same school in every array."""

    school_id: np.ndarray      # int64: URN, or a synthetic id
    phase: np.ndarray          # int8: PRIMARY / SECONDARY
    pupils: np.ndarray         # int32: pupils on roll
    region: np.ndarray         # int8: index into REGION_NAMES
    local_authority: np.ndarray  # int16: index into la_names
    la_names: tuple[str, ...]
    x_km: np.ndarray           # float64: easting, km
    y_km: np.ndarray           # float64: northing, km
    setting: np.ndarray        # int8: URBAN / TOWN / RURAL
    coastal: np.ndarray        # bool: within 5.5 km of the coast
    fsm_share: np.ndarray      # float64: share of pupils eligible for free school meals, 0-1
    academy: np.ndarray        # bool: academy in a trust (else LA-maintained)
    grade: np.ndarray          # int8: Ofsted grade 1-4 at the last inspection, 0 = none yet
    terms_since_inspection: np.ndarray  # int16
    name: str = "world"
    teaching_school: np.ndarray | None = None  # bool: designated teaching school at the start
    governance: np.ndarray | None = None       # int8: index into GOVERNANCE
    start_year: float = 2018.6                 # calendar year at step 0 (2018.6 = Sept 2018)
    input_files: tuple[str, ...] = ()          # files the world was read from (for fingerprints)
    load_report: dict | None = None            # what loading dropped or imputed, for the manifest

    def __post_init__(self) -> None:
        n = len(self.school_id)
        if self.teaching_school is None:
            self.teaching_school = np.zeros(n, dtype=bool)
        if self.governance is None:
            self.governance = np.where(self.academy, ACADEMY_CONVERTER, MAINTAINED).astype(np.int8)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray) and len(value) != n:
                raise ValueError(f"World.{f.name} has {len(value)} entries, expected {n}")
        if n == 0:
            raise ConfigError("the world has no schools (check world.region / world.local_authority)")
        if len(np.unique(self.school_id)) != n:
            raise ValueError("World.school_id values must be unique")

    @property
    def n_schools(self) -> int:
        """Number of schools."""
        return len(self.school_id)

    @property
    def fsm_band(self) -> np.ndarray:
        """FSM band 1-4 (see :func:`fsm_band`)."""
        return fsm_band(self.fsm_share)

    @property
    def rural(self) -> np.ndarray:
        """Rural in the DfE sense: the "town and fringe", village and hamlet settings (the one
        home of "rural": policies targeting rural schools and the ``rural`` subgroup use it)."""
        return is_rural(self.setting)

    @property
    def inspected(self) -> np.ndarray:
        """The school has a graded inspection at the start."""
        return self.grade != UNINSPECTED

    @property
    def small(self) -> np.ndarray:
        """Small school: 100 or fewer pupils (DfE definition, seed 001 L135-139)."""
        return self.pupils <= 100

    def subset(self, mask: np.ndarray, name: str | None = None) -> "World":
        """The schools where ``mask`` is true, as a new world."""
        kwargs = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kwargs[f.name] = value[mask] if isinstance(value, np.ndarray) else value
        kwargs["name"] = name or self.name
        return World(**kwargs)


def is_rural(setting: np.ndarray) -> np.ndarray:
    """Settings in the DfE rural class (town and fringe, village, hamlet): see ``World.rural``."""
    return np.isin(setting, (TOWN, RURAL))


def good_or_better(grade: np.ndarray) -> np.ndarray:
    """Graded outstanding or good at the last inspection (an uninspected school is not)."""
    return (grade >= 1) & (grade <= 2)


def fsm_band(fsm_share: np.ndarray) -> np.ndarray:
    """FSM band 1-4 from the FSM share (0-1): <=8%, 9-20%, 21-35%, >35%.

    Seed 000 L37 names FSM bands 1 to 4 but gives no cut-offs: these are an assumption.
    """
    return (1 + np.searchsorted([0.085, 0.205, 0.355], fsm_share, side="right")).astype(np.int8)


# Calendar year at step 0 of a world built with each starting grade mix: the first term after
# the August figures the mix is taken from.
SYNTHETIC_START_YEAR = {"2018": 2018.6, "2010": 2010.6}


def build_world(config: WorldConfig) -> World:
    """Build the world named by ``config``: real England (or a part of it), GIAS, synthetic, or toy."""
    rng = np.random.default_rng(config.seed)
    if config.scale != 1.0 and config.source != "synthetic":
        raise ConfigError(f"world.scale={config.scale:g} applies only to world.source=synthetic, not "
                          f"{config.source!r}: that world has the schools its data list")
    if config.source == "england":
        from .england import load_england
        if config.start_year is not None:
            raise ConfigError("world.start_year cannot be set for world.source=england: the real "
                              "world starts on its data date (12 March 2018)")
        world = load_england(config.data_dir, rng=rng)
    else:
        if config.source == "toy":
            world = toy_world(config.toy_schools, rng)
        elif config.source == "gias":
            from .gias import load_gias
            if not config.gias_path:
                raise ConfigError("world.gias_path must name a GIAS CSV when world.source=gias")
            world = load_gias(config.gias_path, rng=rng, starting_grades=config.starting_grades,
                              max_dropped_share=config.gias_max_dropped_share)
        else:
            world = england_world(rng, scale=config.scale, starting_grades=config.starting_grades)
        world.start_year = (SYNTHETIC_START_YEAR[config.starting_grades] if config.start_year is None
                            else float(config.start_year))
    world = select(world, config.region, config.local_authority)
    world.name = config.name
    return world


WORLDS_KEPT = 4  # worlds a process keeps built (about 1 MB each at England scale, 20 MB at 20x)
# world configuration -> (the world as built, fingerprints of its input files then)
_built_worlds: OrderedDict[tuple, tuple[World, dict[str, str]]] = OrderedDict()
_built_worlds_lock = threading.Lock()


def cached_world(config: WorldConfig) -> World:
    """A private copy of the world ``config`` names, built at most once per process.

    Every run of a sweep starts from the same world (its random draws use ``world.seed``, never
    the run seed), and building it (reading and checking the England CSV, or generating a
    synthetic England) cost more than simulating a region for two years. So a process keeps the
    last :data:`WORLDS_KEPT` worlds it built, keyed by the whole world configuration, and builds
    again when an input file's sha256 has changed since (:mod:`sim.fingerprint`; a missing file
    rebuilds, which reports it). Each call returns a deep copy: nothing a run does to its world
    reaches another run, and the copy equals a freshly built world array for array.
    """
    key = dataclasses.astuple(config)
    with _built_worlds_lock:  # the explorer runs scenarios in threads
        entry = _built_worlds.get(key)
    if entry is not None:
        try:
            if world_inputs(entry[0]) != entry[1]:
                entry = None
        except OSError:
            entry = None
    if entry is None:
        world = build_world(config)
        entry = (world, world_inputs(world))
    with _built_worlds_lock:
        _built_worlds[key] = entry
        _built_worlds.move_to_end(key)  # most recently used last
        while len(_built_worlds) > WORLDS_KEPT:
            _built_worlds.popitem(last=False)
    return copy.deepcopy(entry[0])


def built_worlds() -> list[tuple[tuple, tuple[World, dict[str, str]]]]:
    """The worlds this process keeps built (for :func:`keep_worlds` in another process)."""
    with _built_worlds_lock:
        return list(_built_worlds.items())


def keep_worlds(entries: list[tuple[tuple, tuple[World, dict[str, str]]]]) -> None:
    """Keep worlds another process built (from its :func:`built_worlds`), so that
    :func:`cached_world` copies them instead of building them again; it still rebuilds one
    whose input files have changed since."""
    with _built_worlds_lock:
        for key, entry in entries:
            _built_worlds[key] = entry
            _built_worlds.move_to_end(key)
        while len(_built_worlds) > WORLDS_KEPT:
            _built_worlds.popitem(last=False)


def select(world: World, region: str | None, local_authority: str | None) -> World:
    """Keep one region and/or one local authority, naming the bad value if it is unknown."""
    if region is not None:
        if region not in REGION_NAMES:
            raise ConfigError(f"world.region={region!r} is not one of: {', '.join(REGION_NAMES)}")
        world = world.subset(world.region == REGION_NAMES.index(region))
    if local_authority is not None:
        present = sorted({world.la_names[i] for i in np.unique(world.local_authority)})
        if local_authority not in present:
            where = f" of region {region!r}" if region is not None else ""
            raise ConfigError(f"world.local_authority={local_authority!r} is not in this world{where} "
                              f"(for example: {', '.join(present[:8])})")
        world = world.subset(world.local_authority == world.la_names.index(local_authority))
    return world


# --------------------------------------------------------------------------------------------
# Synthetic England
# --------------------------------------------------------------------------------------------

def _regional_counts(scale: float) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Schools and rural share per region and phase.

    Pupils are apportioned by population; rural shares rise with land per person (London none)
    and are scaled to the national rural share; school counts follow from the pupils and the
    smaller size of rural schools, then are scaled to the national totals.
    """
    pop = np.array([r[1] for r in REGIONS])
    area = np.array([r[2] for r in REGIONS], dtype=float)
    sparsity = np.sqrt(area / pop)
    sparsity[REGION_NAMES.index("London")] = 0.0
    counts, rural = {}, {}
    for phase in (PRIMARY, SECONDARY):
        share = sparsity / np.average(sparsity, weights=pop) * RURAL_SHARE[phase]
        share = np.clip(share, 0.0, 0.6)
        # Rural schools are smaller (rural primaries ~100 pupils vs ~350 urban; Times 2019).
        rel_size = np.where(phase == PRIMARY, 0.36, 0.75)
        per_school = (1 - share) + share * rel_size
        n = pop / per_school
        n = n / n.sum() * NATIONAL_SCHOOLS[phase] * scale
        counts[phase] = _round_preserving_total(n)
        rural[phase] = share * RURAL_SHARE[phase] / np.average(share, weights=counts[phase])
    return counts, rural


def _round_preserving_total(values: np.ndarray) -> np.ndarray:
    """Round to integers keeping the (rounded) total: largest remainders get the extra units."""
    floor = np.floor(values).astype(int)
    short = int(round(values.sum())) - floor.sum()
    floor[np.argsort(floor - values)[:short]] += 1
    return floor


def england_world(rng: np.random.Generator, scale: float = 1.0, starting_grades: str = "2018") -> World:
    """An England-like world of about 16,800 primary and 3,450 secondary schools (at scale 1)."""
    counts, rural_share = _regional_counts(scale)
    la_names: list[str] = []
    parts: dict[str, list[np.ndarray]] = {k: [] for k in
        ("phase", "region", "la", "x", "y", "setting", "coastal", "pupils", "fsm", "academy")}
    for r, (name, _pop, area, n_la, (cx, cy), coasts) in enumerate(REGIONS):
        side = np.sqrt(area)
        la_offset = len(la_names)
        la_names += [f"{name} LA {k + 1:02d}" for k in range(n_la)]
        # LAs tile the region's square; each LA's town sits at its tile's centre.
        cols = int(np.ceil(np.sqrt(n_la)))
        rows = int(np.ceil(n_la / cols))
        tile_w, tile_h = side / cols, side / rows
        la_cx = cx - side / 2 + (np.arange(n_la) % cols + 0.5) * tile_w
        la_cy = cy - side / 2 + (np.arange(n_la) // cols + 0.5) * tile_h
        # Coastal LAs have their town on the coast (Blackpool, Hull, Plymouth...): approximation.
        for edge in coasts:
            if edge == "east":
                on_edge = la_cx + tile_w / 2 >= cx + side / 2 - 1e-6
                la_cx = np.where(on_edge, cx + side / 2 - 3.0, la_cx)
            elif edge == "west":
                on_edge = la_cx - tile_w / 2 <= cx - side / 2 + 1e-6
                la_cx = np.where(on_edge, cx - side / 2 + 3.0, la_cx)
            elif edge == "south":
                on_edge = la_cy - tile_h / 2 <= cy - side / 2 + 1e-6
                la_cy = np.where(on_edge, cy - side / 2 + 3.0, la_cy)
        la_weight = rng.dirichlet(np.full(n_la, 8.0))  # LAs differ in size (approximation)
        for phase in (PRIMARY, SECONDARY):
            n = int(counts[phase][r])
            if n == 0:
                continue
            la = rng.choice(n_la, size=n, p=la_weight)
            rural_p = rural_share[phase][r]
            setting = rng.choice(3, size=n, p=[1 - rural_p, rural_p * TOWN_SHARE_OF_RURAL,
                                               rural_p * (1 - TOWN_SHARE_OF_RURAL)]).astype(np.int8)
            # Urban schools cluster near the LA's town; towns less so; rural spread over the tile.
            spread = np.array([0.12, 0.3, 0.5])[setting]
            x = la_cx[la] + rng.normal(0, 1, n) * spread * tile_w
            y = la_cy[la] + rng.normal(0, 1, n) * spread * tile_h
            rural_any = setting != URBAN
            x[rural_any] = la_cx[la[rural_any]] + rng.uniform(-0.5, 0.5, rural_any.sum()) * tile_w
            y[rural_any] = la_cy[la[rural_any]] + rng.uniform(-0.5, 0.5, rural_any.sum()) * tile_h
            x = np.clip(x, cx - side / 2, cx + side / 2)
            y = np.clip(y, cy - side / 2, cy + side / 2)
            coastal = np.zeros(n, dtype=bool)
            for edge in coasts:
                dist = {"east": cx + side / 2 - x, "west": x - (cx - side / 2),
                        "south": y - (cy - side / 2), "north": cy + side / 2 - y}[edge]
                coastal |= dist <= COASTAL_KM
            parts["phase"].append(np.full(n, phase, dtype=np.int8))
            parts["region"].append(np.full(n, r, dtype=np.int8))
            parts["la"].append((la + la_offset).astype(np.int16))
            parts["x"].append(x)
            parts["y"].append(y)
            parts["setting"].append(setting)
            parts["coastal"].append(coastal)
            parts["pupils"].append(_school_sizes(phase, setting, rng))
            parts["fsm"].append(_fsm_shares(phase, name, setting, rng))
            parts["academy"].append(rng.random(n) < _academy_share(phase, name, counts))
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    n = len(cat["phase"])
    grade, since = starting_grades_for(cat["fsm"], cat["phase"], starting_grades, rng)
    return World(school_id=np.arange(100_001, 100_001 + n, dtype=np.int64), phase=cat["phase"],
                 pupils=cat["pupils"], region=cat["region"], local_authority=cat["la"],
                 la_names=tuple(la_names), x_km=cat["x"], y_km=cat["y"], setting=cat["setting"],
                 coastal=cat["coastal"], fsm_share=cat["fsm"], academy=cat["academy"],
                 grade=grade, terms_since_inspection=since, name="england")


def _school_sizes(phase: int, setting: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pupils per school: gamma by setting, means chosen to give the published national mean.

    Primary: rural (village) ~90, town ~130, urban ~355 (rural average "just over 100", urban
    "just under 400": Times, Jul 2019); secondary: approximations around the 965 mean.
    """
    if phase == PRIMARY:
        mean, cv = np.array([355.0, 130.0, 90.0])[setting], np.array([0.42, 0.5, 0.5])[setting]
        low = 12
    else:
        mean, cv = np.array([1010.0, 850.0, 700.0])[setting], np.array([0.35, 0.35, 0.4])[setting]
        low = 150
    shape = 1.0 / cv**2
    return np.maximum(low, rng.gamma(shape, mean / shape)).round().astype(np.int32)


def _fsm_shares(phase: int, region: str, setting: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """FSM share per school: beta around the regional mean, adjusted by setting (approximation)."""
    rural = RURAL_SHARE[phase]
    setting_mix = np.array([1 - rural, rural * TOWN_SHARE_OF_RURAL, rural * (1 - TOWN_SHARE_OF_RURAL)])
    setting_factor = np.array(FSM_SETTING_FACTOR) / np.dot(setting_mix, FSM_SETTING_FACTOR)
    mean = FSM_NATIONAL[phase] * FSM_REGION_FACTOR[region] * setting_factor[setting]
    mean = np.clip(mean, 0.02, 0.8)
    concentration = 5.0  # wide spread: schools range from almost none to over half
    return rng.beta(mean * concentration, (1 - mean) * concentration)


def _academy_share(phase: int, region: str, counts: dict[int, np.ndarray]) -> float:
    """Academy share by region: NE and NW published; others set so England matches 32% / 75%."""
    if region in ACADEMY_REGION:
        return ACADEMY_REGION[region][phase]
    c = counts[phase]
    known = sum(ACADEMY_REGION[r][phase] * c[REGION_NAMES.index(r)] for r in ACADEMY_REGION)
    rest = c.sum() - sum(c[REGION_NAMES.index(r)] for r in ACADEMY_REGION)
    return float(np.clip((ACADEMY_SHARE[phase] * c.sum() - known) / max(rest, 1), 0, 1))


def starting_grades_for(fsm_share: np.ndarray, phase: np.ndarray, which: str,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ofsted grades at the start, with the published mix and more weak grades where FSM is high.

    A latent score falls with disadvantage (``GRADE_FSM_SLOPE``) and grades are cut at the quantiles
    that reproduce the published shares exactly. Time since inspection is spread over each
    grade's usual interval.
    """
    shares = np.array(STARTING_GRADE_SHARES[which])
    shares = shares / shares.sum()  # published shares are rounded (2018 sums to 101%)
    latent = rng.normal(0, 1, len(fsm_share)) - GRADE_FSM_SLOPE * (fsm_share - fsm_share.mean())
    cuts = np.quantile(latent, 1 - np.cumsum(shares)[:-1])
    grade = (1 + np.searchsorted(-cuts, -latent, side="right")).astype(np.int8)
    interval = np.array(START_INSPECTION_AGE_TERMS)[grade - 1]
    since = np.floor(rng.random(len(grade)) * interval).astype(np.int16)
    return grade, since


def toy_world(n_schools: int, rng: np.random.Generator) -> World:
    """A few schools in one 20 km x 20 km local authority, for tests and examples."""
    n = n_schools
    phase = (np.arange(n) % 4 == 3).astype(np.int8)
    setting = (np.arange(n) % 3).astype(np.int8)
    return World(
        school_id=np.arange(1, n + 1, dtype=np.int64), phase=phase,
        pupils=np.where(phase == SECONDARY, 900, np.where(setting == RURAL, 80, 250)).astype(np.int32),
        region=np.zeros(n, dtype=np.int8), local_authority=np.zeros(n, dtype=np.int16),
        la_names=("Toy LA",), x_km=rng.uniform(0, 20, n), y_km=rng.uniform(0, 20, n),
        setting=setting, coastal=np.zeros(n, dtype=bool),
        fsm_share=np.linspace(0.05, 0.45, n), academy=np.zeros(n, dtype=bool),
        grade=np.array([1, 2, 2, 3][:n] + [2] * max(0, n - 4), dtype=np.int8),
        terms_since_inspection=np.zeros(n, dtype=np.int16), name="toy")

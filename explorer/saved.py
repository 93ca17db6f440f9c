"""Finished work opened in the explorer without rerunning: a run's folder or a sweep's folder.

A run folder (``run.out`` of ``python -m experiments.run``) holds ``manifest.json`` and the
four Parquet tables written by ``sim.results``; it is read back into a ``sim.run.Results``
so every view of a fresh run works on it. A sweep folder (``results/experiments/<name>``)
holds the experiment's manifest, ``summary/*.csv`` and ``figures/*.png``; the explorer shows
its arms, intervals and figures as they were written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.parameters import ConfigError
from sim.results import MANIFEST, RESULT_FILES
from sim.run import Results


@dataclass
class SavedSweep:
    """A finished sweep: its manifest, summary tables and figure files."""

    folder: Path
    manifest: dict
    arms: pd.DataFrame
    differences: pd.DataFrame
    series: pd.DataFrame | None
    figures: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The experiment's name."""
        return str(self.manifest.get("name", self.folder.name))

    @property
    def arm_names(self) -> list[str]:
        """Arms in the order the experiment declared them."""
        return list(self.manifest.get("spec", {}).get("arms", {})) or sorted(self.arms["arm"].unique())

    @property
    def reference_arm(self) -> str:
        """The arm the others were compared with."""
        spec = self.manifest.get("spec", {})
        return spec.get("experiment", {}).get("reference_arm") or self.arm_names[0]

    def arm_levers(self) -> dict[str, dict]:
        """Each arm's overrides (dotted path -> value)."""
        return self.manifest.get("spec", {}).get("arms", {})


def folder_kind(folder: str | Path) -> str:
    """``run`` or ``sweep``; raises ``ConfigError`` naming the folder if it is neither."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ConfigError(f"{str(folder)!r} is not a folder")
    if not (path / MANIFEST).exists():
        raise ConfigError(f"{str(folder)!r} has no {MANIFEST}: not a finished run or sweep")
    if all((path / name).exists() for name in RESULT_FILES):
        return "run"
    if (path / "summary" / "arms.csv").exists():
        return "sweep"
    raise ConfigError(f"{str(folder)!r} is neither a run folder (with {', '.join(RESULT_FILES)}) "
                      "nor a finished sweep (with summary/arms.csv)")


def load_run(folder: str | Path) -> Results:
    """Read a run folder back into ``Results`` (tables and manifest)."""
    path = Path(folder).expanduser()
    if folder_kind(path) != "run":
        raise ConfigError(f"{str(folder)!r} is a sweep, not a run folder")
    tables = {name.removesuffix(".parquet"): pd.read_parquet(path / name) for name in RESULT_FILES}
    manifest = json.loads((path / MANIFEST).read_text())
    return Results(**tables, manifest=manifest)


def load_sweep(folder: str | Path) -> SavedSweep:
    """Read a finished sweep's manifest, summary tables and figure list."""
    path = Path(folder).expanduser()
    if folder_kind(path) != "sweep":
        raise ConfigError(f"{str(folder)!r} is a run folder, not a sweep")
    summary = path / "summary"
    series = pd.read_csv(summary / "series.csv") if (summary / "series.csv").exists() else None
    differences = (pd.read_csv(summary / "paired_differences.csv")
                   if (summary / "paired_differences.csv").exists() else pd.DataFrame())
    return SavedSweep(folder=path, manifest=json.loads((path / MANIFEST).read_text()),
                      arms=pd.read_csv(summary / "arms.csv"), differences=differences,
                      series=series, figures=sorted((path / "figures").glob("*.png")))


def find_finished(root: str | Path = "results") -> list[str]:
    """Run and sweep folders under ``root`` (a few levels deep), for the explorer's list."""
    found = []
    base = Path(root)
    if not base.is_dir():
        return found
    for manifest in sorted(base.glob("**/" + MANIFEST)):
        if len(manifest.relative_to(base).parts) > 4:
            continue
        try:
            folder_kind(manifest.parent)
        except ConfigError:
            continue
        found.append(str(manifest.parent))
    return found

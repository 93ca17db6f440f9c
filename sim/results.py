"""Writing a run's results: Parquet tables, figures and a manifest, never half written.

Files are written to a temporary folder beside ``out_dir`` and moved in only when all are
complete, the manifest last, so a run that fails midway leaves no file that passes as complete.
An ``out_dir`` that already holds results is refused unless ``overwrite`` is set, before any
work is done (:func:`check_out_dir`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from .parameters import ConfigError

if TYPE_CHECKING:
    from .run import Results

RESULT_FILES = ("timeseries.parquet", "events.parquet", "schools.parquet", "geography.parquet")
MANIFEST = "manifest.json"


def check_out_dir(out_dir: str, overwrite: bool) -> None:
    """Refuse to overwrite earlier results unless asked; fail before the run, naming the folder."""
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"run.out={out_dir!r} exists and is not a folder")
    if (path / MANIFEST).exists() and not overwrite:
        raise ConfigError(f"run.out={out_dir!r} already holds results; choose another folder "
                          f"or set run.overwrite=true")


def source_revision() -> str:
    """The git revision of the source tree (with '+dirty' for uncommitted changes), if known."""
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return (rev + ("+dirty" if dirty else "")) or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    """Versions of this package and every library it imports (tests/test_project_metadata.py
    keeps the list complete)."""
    names = ("selfimproving-schools", "mesa", "networkx", "numpy", "pandas", "pyarrow", "scipy",
             "matplotlib", "SALib", "hydra-core", "omegaconf", "tqdm", "distributed")
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_table(frame, path: Path) -> None:
    """Write a DataFrame as Parquet with stable bytes (no pandas index, fixed writer options)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(None)  # pandas metadata embeds library versions
    pq.write_table(table, path, compression="zstd", write_statistics=False,
                   store_schema=True, use_dictionary=True)


def write_results(results: "Results", out_dir: str, overwrite: bool = False,
                  figures: bool = True) -> Path:
    """Write tables, figures and manifest to ``out_dir``; return its path."""
    check_out_dir(out_dir, overwrite)
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        write_table(results.timeseries, tmp / "timeseries.parquet")
        write_table(results.events, tmp / "events.parquet")
        write_table(results.schools, tmp / "schools.parquet")
        write_table(results.geography, tmp / "geography.parquet")
        written = list(RESULT_FILES)
        if figures:
            from .figures import core_figures, system_leadership_figures
            written += core_figures(results.timeseries, results.events, tmp)
            written += system_leadership_figures(results, tmp)
        manifest = dict(results.manifest)
        manifest.update({"package_versions": package_versions(), "source_revision": source_revision(),
                         "files": written})
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        out.mkdir(parents=True, exist_ok=True)
        if (out / MANIFEST).exists():
            (out / MANIFEST).unlink()  # results being replaced stop passing as complete first
        for name in written:
            os.replace(tmp / name, out / name)
        os.replace(tmp / MANIFEST, out / MANIFEST)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out

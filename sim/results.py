"""Writing a run's results: Parquet tables, figures and a manifest, never half written, never
over anything the project did not write.

Files are written to a temporary folder beside ``out_dir`` (``.<name>.partial-<pid>-*``) and
moved in only when all are complete: a new folder appears at once (the temporary folder is
renamed), earlier results are replaced file by file with the manifest last, so a run that fails
or is killed midway leaves no file that passes as complete; a partial folder left by a killed
run is removed at the next write to that ``out_dir`` (or reported if it cannot be told from a
live one).

Output folders (``run.out`` here, ``experiment.out`` in :mod:`experiments.store`) follow the
rules in docs/RESULTS.md, checked before any work (:func:`check_out_path`,
:func:`check_out_dir`):

* never empty, never the working directory, the project folder or a folder above either;
* a folder holding anything but this project's results of the same kind (a run's
  ``manifest.json`` with ``output_kind: run``) is refused, overwrite or not;
* earlier results of a run are replaced only with ``overwrite``; the files the old manifest
  lists (figures in ``figures/`` included) and the command's ``run.log`` are removed with it
  (no stale figures or log beside new tables), nothing else is touched;
* the nearest existing folder must be writable, with :data:`MIN_FREE_BYTES` free.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import platform
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from .fingerprint import PROJECT_ROOT
from .parameters import ConfigError

if TYPE_CHECKING:
    from .run import Results

RESULT_FILES = ("timeseries.parquet", "events.parquet", "schools.parquet", "geography.parquet")
MANIFEST = "manifest.json"
RUN_LOG = "run.log"  # written beside the results by the command (experiments.logs)
RESULT_SUBFOLDERS = ("figures",)  # the only folder a run's listed files may lie in
REPLACING = ".manifest.replacing.json"  # the old manifest while its results are being replaced
OUTPUT_KIND = "output_kind"  # manifest key: "run" (this module) or "experiment" (experiments/)
RUN_KIND, EXPERIMENT_KIND = "run", "experiment"
MIN_FREE_BYTES = 100 * 2**20  # refuse to start a run that could not write its results
PARTIAL = re.compile(r"\.(?P<name>.+)\.partial-(?:(?P<pid>\d+)-)?[^/]*$")
log = logging.getLogger(__name__)


def check_out_path(out: str | Path, setting: str) -> Path:
    """``out`` as a path, refused (naming ``setting``) if it is empty, or the working directory,
    the project folder or a folder above either: results need a folder of their own."""
    if out is None or not str(out).strip():
        raise ConfigError(f"{setting} is empty; name a folder of its own for the results, "
                          f"e.g. {setting}=results/my_results")
    if "\0" in str(out):
        raise ConfigError(f"{setting}={str(out)!r} holds a NUL character")
    path = Path(os.path.expanduser(str(out)))
    resolved = path.resolve()
    for protected, what in ((Path.cwd().resolve(), "the working directory"),
                            (PROJECT_ROOT, "the project folder")):
        if resolved == protected or resolved in protected.parents:
            raise ConfigError(f"{setting}={str(out)!r} is {what} or a folder above it; results "
                              f"need a folder of their own, e.g. {setting}=results/my_results")
    return path


def output_kind(manifest: dict) -> str | None:
    """"run" or "experiment" if ``manifest`` is one this project wrote, else None.

    Manifests written before ``output_kind`` existed are recognised by their keys.
    """
    if not isinstance(manifest, dict):
        return None
    if manifest.get(OUTPUT_KIND) in (RUN_KIND, EXPERIMENT_KIND):
        return manifest[OUTPUT_KIND]
    if {"seed", "config", "files"} <= manifest.keys():
        return RUN_KIND
    if {"format_version", "spec", "replication_seeds"} <= manifest.keys():
        return EXPERIMENT_KIND
    return None


def read_json_manifest(path: Path) -> dict:
    """A manifest file as a dict; a malformed one is a ConfigError naming it."""
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not a readable manifest ({error}); it was edited or "
                          "truncated: restore it, or choose another folder") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a manifest (a JSON object expected)")
    return data


def recorded_output(folder: Path) -> tuple[str | None, dict | None]:
    """What ``folder`` holds: (output kind, manifest), (None, None) when it holds no manifest
    of this project (an interrupted replacement counts as the kind it replaces)."""
    for name in (MANIFEST, REPLACING):
        if (folder / name).is_file():
            manifest = read_json_manifest(folder / name)
            return output_kind(manifest), manifest
    return None, None


def occupied(folder: Path, ignore: tuple[str, ...] = ()) -> bool:
    """The folder exists and holds something (other than the names in ``ignore``)."""
    return folder.is_dir() and any(p.name not in ignore for p in folder.iterdir())


def check_writable(path: Path, setting: str) -> None:
    """The nearest existing folder of ``path`` accepts a file and has room for results, or an
    OSError (an environment failure) saying which folder and why."""
    existing = path.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{setting}={str(path)!r} lies under {str(existing)!r}, which is a file")
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".write-check-"):
            pass
    except OSError as error:
        raise type(error)(error.errno, f"{setting}: cannot write in {existing} "
                          f"({error.strerror or error})") from None
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_BYTES:
        raise OSError(errno.ENOSPC, f"{setting}: only {free / 2**20:.0f} MB free in {existing}; "
                      f"results need at least {MIN_FREE_BYTES // 2**20} MB")


def check_out_dir(out_dir: str, overwrite: bool, setting: str = "run.out") -> list[str]:
    """Refuse, before the run and naming the folder, an output folder this run may not write;
    return the files of earlier results that writing will replace (listed by their manifest)."""
    path = check_out_path(out_dir, setting)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{setting}={out_dir!r} exists and is not a folder")
    check_writable(path, setting)
    if not occupied(path):
        return []
    kind, manifest = recorded_output(path)
    if kind is None:
        raise ConfigError(f"{setting}={out_dir!r} holds files that are not a run's results "
                          "(no manifest.json of this project); choose a new or empty folder")
    if kind != RUN_KIND:
        raise ConfigError(f"{setting}={out_dir!r} holds an experiment's results, not a single "
                          "run's; choose another folder")
    if not overwrite:
        raise ConfigError(f"{setting}={out_dir!r} already holds results; choose another folder "
                          f"or set run.overwrite=true to replace them")
    return listed_files(manifest)


def listed_files(manifest: dict) -> list[str]:
    """The result files a run manifest lists: plain names, or ``figures/<plain name>`` (any
    other path is not one this project wrote, and is never deleted)."""
    files = manifest.get("files", [])
    return [name for name in files if isinstance(name, str) and _result_name(name)] \
        if isinstance(files, list) else []


def _result_name(name: str) -> bool:
    """A name this project gives a run's files: ``file`` or ``<RESULT_SUBFOLDERS>/file``."""
    parts = name.split("/")
    plain = all(part not in ("", ".", "..") and "\\" not in part for part in parts)
    return plain and name != MANIFEST and (
        len(parts) == 1 or (len(parts) == 2 and parts[0] in RESULT_SUBFOLDERS))


def remove_stale_partials(out: Path) -> None:
    """Remove partial folders of ``out`` left by killed runs (their process is gone); report
    those whose writer cannot be told."""
    if not out.parent.is_dir():
        return
    for candidate in out.parent.glob(f".{out.name}.partial-*"):
        match = PARTIAL.match(candidate.name)
        if not candidate.is_dir() or match is None:
            continue
        pid = match.group("pid")
        if pid is None:
            log.warning("%s looks like a partial result of a killed run; left in place: delete "
                        "it if no run is writing to it", candidate)
        elif not process_alive(int(pid)):
            shutil.rmtree(candidate, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


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
             "matplotlib", "SALib", "hydra-core", "omegaconf", "tqdm", "distributed", "statsmodels",
             "ema_workbench", "filelock", "submitit")
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
                  figures: bool = True,
                  more_figures: Callable[[Path], list[str]] | None = None) -> Path:
    """Write tables, figures and manifest to ``out_dir``; return its path.

    ``more_figures(folder)`` draws further figures into ``folder`` and returns their names
    relative to it (``figures/<name>``, e.g. the seed bands of ``run.seeds``), so they are
    listed in the manifest with the rest. Replacing earlier results removes the files their
    manifest lists that this run does not write again (figures of a run drawn with figures on,
    replaced by one with figures off), and their ``run.log``.
    """
    replaced = check_out_dir(out_dir, overwrite)
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()  # not mkdtemp: the folder may become the results, with the usual permissions
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
        if more_figures is not None:
            written += more_figures(tmp)
        manifest = {OUTPUT_KIND: RUN_KIND, **results.manifest}
        manifest.update({"package_versions": package_versions(), "source_revision": source_revision(),
                         "files": written})
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        if not occupied(out) and _rename_folder(tmp, out):
            return out  # nothing replaced: the complete folder appeared at once
        if (out / MANIFEST).exists():
            # results being replaced stop passing as complete first, but stay recognisable
            os.replace(out / MANIFEST, out / REPLACING)
        for name in written:
            (out / name).parent.mkdir(exist_ok=True)
            os.replace(tmp / name, out / name)
        stale = [out / name for name in sorted(set(replaced) - set(written))] + [out / RUN_LOG]
        for path in stale:
            if path.is_file() and not path.is_symlink():
                path.unlink()
        for folder in {path.parent for path in stale} - {out}:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        os.replace(tmp / MANIFEST, out / MANIFEST)
        (out / REPLACING).unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _rename_folder(tmp: Path, out: Path) -> bool:
    """Rename the folder ``tmp`` to ``out`` (absent or empty), so that a kill leaves either
    nothing or every file; False where the system cannot (``out`` a mount point, Windows):
    the files are then moved in one by one, the manifest last."""
    try:
        os.replace(tmp, out)
    except OSError:
        out.mkdir(parents=True, exist_ok=True)
        return False
    return True

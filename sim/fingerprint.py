"""Fingerprints of input files: the sha256 of every file a world (or an experiment) reads.

A run's ``manifest.json`` and an experiment's ``manifest.json`` record ``input_files``:
``{name: sha256}``, where the name is the path relative to the project root for files inside
the project (``data/england_2018/schools.csv``), else the absolute path. A resumed experiment
and :mod:`experiments.reproduce` compare the recorded fingerprints with the files as they are
now and refuse, naming the file, when one has changed or gone (:func:`changed_inputs`).

The hook for loaders: a :class:`~sim.world.World` lists the files it was read from in
``world.input_files`` (a tuple of paths; empty for generated worlds); :func:`world_inputs`
fingerprints them. A loader that reads a file sets that attribute, nothing else.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHUNK_BYTES = 1 << 20


def sha256_of(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in chunks (hex digest); computed once per version of
    the file in a process (every run of a sweep fingerprints its world's files)."""
    stat = Path(path).stat()
    return _sha256(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def recorded_name(path: str | Path) -> str:
    """How a file is named in manifests: relative to the project root if inside it (so a moved
    clone still matches), else its absolute path."""
    resolved = Path(os.path.expanduser(str(path))).resolve()
    try:
        return resolved.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return resolved.as_posix()


def resolve_recorded(name: str) -> Path:
    """The file a recorded name refers to (the inverse of :func:`recorded_name`)."""
    path = Path(name)
    return path if path.is_absolute() else PROJECT_ROOT / path


def fingerprint(paths: Iterable[str | Path]) -> dict[str, str]:
    """``{recorded name: sha256}`` of each file, sorted by name (stable manifest bytes)."""
    prints = {recorded_name(path): sha256_of(path) for path in paths}
    return dict(sorted(prints.items()))


def world_inputs(world) -> dict[str, str]:
    """Fingerprints of the files ``world`` was read from (its ``input_files``; none if generated)."""
    return fingerprint(getattr(world, "input_files", None) or ())


def changed_inputs(recorded: dict[str, str]) -> list[str]:
    """One sentence per recorded input file that is now missing or has other bytes."""
    problems = []
    for name, digest in sorted(recorded.items()):
        path = resolve_recorded(name)
        if not path.is_file():
            problems.append(f"input file {name} is missing (recorded sha256 {digest[:12]}...)")
            continue
        now = sha256_of(path)
        if now != digest:
            problems.append(f"input file {name} has changed (sha256 {digest[:12]}... recorded, "
                            f"{now[:12]}... now)")
    return problems

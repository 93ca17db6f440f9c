"""The presets of each option group in ``conf/``, each with a one-line description.

A preset's description is the first sentence of the comment at the top of its YAML file (two
sentences when the first is a question). README.md's preset lists (``scripts/readme_presets.py``)
and every command's ``--help`` (``conf/hydra/help/*.yaml``, through the ``sis_presets`` resolver)
are generated from here, so neither can drift from ``conf/``.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from .config import CONF_DIR

HELP_WIDTH = 100
GROUPS = ("world", "policy", "behaviour", "run", "experiment", "uncertainties", "execution")
_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)(?<!\bvs)[.?!](?=\s|$)")


@dataclass(frozen=True)
class Preset:
    """One file of an option group: ``group=name`` on the command line."""

    group: str
    name: str
    description: str
    kind: str | None = None  # experiment presets: sweep | morris | sobol


def presets(group: str, conf_dir: str | Path = CONF_DIR) -> list[Preset]:
    """The presets of ``group``, sorted by name."""
    found = []
    for path in sorted(Path(conf_dir, group).glob("*.yaml")):
        kind = None
        if group == "experiment":
            kind = OmegaConf.select(OmegaConf.load(path), "experiment.kind", default="sweep")
        found.append(Preset(group, path.stem, describe(path.read_text()), kind))
    return found


def describe(text: str) -> str:
    """The description of a preset: the first sentence of its leading comment (and the second,
    when the first is a question). The comment ends at its first blank, indented or command
    line."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        if body.startswith("@package"):
            continue
        if not body or line[1:].startswith("   ") or body.startswith("python "):
            break
        lines.append(body)
    paragraph = " ".join(lines)
    ends = [m.end() for m in _SENTENCE_END.finditer(paragraph)]
    if not ends:
        return paragraph.rstrip(":")
    first = ends[0]
    if paragraph[first - 1] == "?" and len(ends) > 1:
        first = ends[1]
    return paragraph[:first]


def default_choices(config_name: str, conf_dir: str | Path = CONF_DIR) -> dict[str, str]:
    """The preset each group defaults to in a primary config (``config`` or ``experiments``)."""
    defaults = OmegaConf.to_container(OmegaConf.load(Path(conf_dir, f"{config_name}.yaml")).defaults)
    return {group: choice for entry in defaults if isinstance(entry, dict)
            for group, choice in entry.items() if group in GROUPS}


def help_list(group: str, chosen: str | None = None, kinds: tuple[str, ...] = ()) -> str:
    """The presets of ``group`` as indented help lines, ``*`` marking the chosen one; only
    experiment presets of ``kinds`` when given."""
    rows = [p for p in presets(group) if not kinds or p.kind in kinds]
    width = max(len(p.name) for p in rows)
    lines = [textwrap.fill(p.description, HELP_WIDTH,
                           initial_indent=f"  {'*' if p.name == chosen else ' '} {p.name:<{width}}  ",
                           subsequent_indent=" " * (width + 6)) for p in rows]
    return "\n".join(lines).replace("$", "$$")  # the help template is a string.Template


def register_resolver() -> None:
    """``${sis_presets:group[,chosen[,kind,...]]}`` in the help templates (conf/hydra/help)."""
    if not OmegaConf.has_resolver("sis_presets"):
        OmegaConf.register_new_resolver(
            "sis_presets", lambda group, chosen=None, *kinds: help_list(
                group, None if chosen in (None, "none") else str(chosen), tuple(kinds)))

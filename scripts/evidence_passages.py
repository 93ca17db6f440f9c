"""The seed texts shipped in docs/evidence/seeds/, and the citations (``seed NNN Lline``) that
must resolve in them.

Seed 004 (Ofsted, Open Government Licence) is shipped whole. The other seeds state no licence
that allows redistribution, so only the passages the project cites are shipped: for each, a
``NNN_<hash>.passages.txt`` file holding every cited line with ``CONTEXT_LINES`` lines either
side, one ``Lnnn: text`` line each, numbered as in the original text (docs/evidence/README.md).

    python scripts/evidence_passages.py --check           # every citation resolves (no seeds needed)
    python scripts/evidence_passages.py --write --seeds ../shared/seeds   # regenerate passages

``--write`` needs the full seed texts; run it after adding a citation of a line not yet shipped.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO / "docs" / "evidence" / "seeds"
WHOLE_SEEDS = ("004",)  # licence allows shipping the whole text (docs/evidence/README.md)
CONTEXT_LINES = 3
PASSAGES_SUFFIX = ".passages.txt"

# Files scanned for citations: the project's code, configuration, docs, notebooks, shipped
# results (their manifests record each parameter's source) and data, scripts without a suffix
# (Makefile, .ci/run); not the shipped seed texts themselves, results folders or environments.
SCANNED_SUFFIXES = (".py", ".md", ".yaml", ".yml", ".toml", ".cff", ".txt", ".rst", ".cfg",
                    ".json", ".ipynb", ".csv", ".sh", ".html", "")
SKIPPED_DIRS = (".git", "venv", "node_modules", "__pycache__")
SCANNED_HIDDEN_DIRS = (".ci",)  # other hidden folders are tools' caches and environments
SKIPPED_TOP_DIRS = ("outputs", "multirun")  # Hydra's git-ignored output folders
OUTPUT_DIR = "results"  # its README.md is scanned, not the results folders under it (docs/results is)

# "seed 002 L5945-5958", "seed 000 L1458-1469, L1606-1609", "seed 004 Annex B L646-652",
# "seed 002 Appendix 1 L8252-8327", "seed 002 Table 1.1 (L245-285)"; a list may wrap onto the
# next line of a comment or string literal.
SEED = re.compile(r"\bseeds? (\d{3})\b")
# A parenthetical note between two line numbers ("L2724-2728 (two thirds ...), L6338") does not
# end the list, so every number of the list is checked.
LINE_REF = re.compile(r"(?:[\s,#\"'+]|and\b|Annex [A-Z]\b|Appendix \d+\b|Table \d+(?:\.\d+)?\b"
                      r"|\((?=L\d)|\([^()]{0,200}\)(?=[\s,\"'+#]*(?:and )?L\d))*L(\d+)(?:[-\u2013]L?(\d+))?\b")


@dataclass(frozen=True)
class Citation:
    """One cited line range of a seed, and where it is cited."""

    seed: str
    first: int
    last: int
    where: str  # "path:line" of the citing text

    def __str__(self) -> str:
        lines = f"L{self.first}" + (f"-{self.last}" if self.last != self.first else "")
        return f"seed {self.seed} {lines} ({self.where})"


def citations_in(text: str, where: str = "") -> list[Citation]:
    """Every ``seed NNN Lline[-line]`` citation in ``text`` (line lists included)."""
    found = []
    for match in SEED.finditer(text):
        position = match.end()
        while ref := LINE_REF.match(text, position):
            first = int(ref.group(1))
            last = int(ref.group(2)) if ref.group(2) else first
            line = text.count("\n", 0, ref.start(1)) + 1
            found.append(Citation(match.group(1), first, last, f"{where}:{line}"))
            position = ref.end()
    return found


def scanned_files(root: Path = REPO) -> list[Path]:
    """The project's text files that may cite seeds (not the shipped seed texts)."""
    files = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [] if Path(folder) == root / OUTPUT_DIR else sorted(
            d for d in subfolders if d not in SKIPPED_DIRS and not d.endswith(".egg-info")
            and (not d.startswith(".") or d in SCANNED_HIDDEN_DIRS)
            and Path(folder, d) != SEEDS_DIR
            and not (Path(folder) == root and d in SKIPPED_TOP_DIRS))
        files += [Path(folder, name) for name in sorted(names)
                  if Path(name).suffix in SCANNED_SUFFIXES and name not in SKIPPED_DIRS]
    return files


def all_citations(root: Path = REPO) -> list[Citation]:
    """Every citation in the project's code, configuration and docs."""
    found = []
    for path in scanned_files(root):
        found += citations_in(path.read_text(errors="replace"), str(path.relative_to(root)))
    return found


def shipped_text(seed: str, seeds_dir: Path = SEEDS_DIR) -> dict[int, str]:
    """Line number -> text of what is shipped of ``seed``: the whole text or its passages."""
    files = sorted(seeds_dir.glob(f"{seed}_*.txt"))
    if not files:
        return {}
    path = files[0]
    if path.name.endswith(PASSAGES_SUFFIX):
        return {int(m.group(1)): m.group(2)
                for m in re.finditer(r"^L(\d+): ?(.*)$", path.read_text(), re.M)}
    return dict(enumerate(path.read_text().split("\n"), start=1))


def problems(citations: list[Citation], seeds_dir: Path = SEEDS_DIR) -> list[str]:
    """What does not resolve: a seed not shipped, a cited line not shipped, a range that is
    backwards, or a citation that starts or ends on a blank line."""
    texts: dict[str, dict[int, str]] = {}
    found = []
    for c in citations:
        text = texts.setdefault(c.seed, shipped_text(c.seed, seeds_dir))
        if not text:
            found.append(f"{c}: seed {c.seed} is not in {seeds_dir.relative_to(REPO)}")
        elif c.last < c.first:
            found.append(f"{c}: range ends before it starts")
        elif missing := [n for n in range(c.first, c.last + 1) if n not in text]:
            found.append(f"{c}: line(s) {_ranges(missing)} not shipped; run "
                         "python scripts/evidence_passages.py --write --seeds <seed texts>")
        elif not text[c.first].strip() or not text[c.last].strip():
            found.append(f"{c}: cites a blank line")
    return found


def passages(text_lines: list[str], cited: set[int], context: int = CONTEXT_LINES) -> list[int]:
    """Line numbers to ship: each cited line with ``context`` lines either side."""
    keep = {n + d for n in cited for d in range(-context, context + 1)}
    return sorted(n for n in keep if 1 <= n <= len(text_lines))


def render_passages(source: Path, text_lines: list[str], keep: list[int]) -> str:
    """The passages file of one seed: a header, then ``Lnnn: text`` lines, gaps marked."""
    out = [f"# Cited passages of {source.name} ({len(text_lines)} lines in all; "
           f"{len(keep)} shipped).",
           "# Each line is 'L<number>: <text>', numbered as in the original text; '...' marks "
           "lines left out.",
           "# Only cited passages are shipped: see docs/evidence/README.md for the source and "
           "its licence.", ""]
    previous = 0
    for n in keep:
        if n != previous + 1:
            out.append("...")
        out.append(f"L{n}: {text_lines[n - 1]}".rstrip())
        previous = n
    if previous != len(text_lines):
        out.append("...")
    return "\n".join(out) + "\n"


def expected_passages(seeds: Path, citations: list[Citation]) -> dict[Path, str]:
    """What each passages file should hold, from the full seed texts in ``seeds``."""
    cited: dict[str, set[int]] = defaultdict(set)
    for c in citations:
        cited[c.seed].update(range(c.first, c.last + 1))
    files = {}
    for source in sorted(seeds.glob("[0-9][0-9][0-9]_*.txt")):
        seed = source.name[:3]
        if seed in WHOLE_SEEDS:
            continue
        text_lines = source.read_text().split("\n")
        if text_lines and text_lines[-1] == "":
            text_lines.pop()  # the final newline ends the last line; it is not a line
        files[SEEDS_DIR / f"{source.stem}{PASSAGES_SUFFIX}"] = render_passages(
            source, text_lines, passages(text_lines, cited.get(seed, set())))
    return files


def _ranges(numbers: list[int]) -> str:
    runs, start = [], numbers[0]
    for a, b in zip(numbers, numbers[1:] + [None]):
        if b != a + 1:
            runs.append(f"L{start}" + (f"-{a}" if a != start else ""))
            start = b
    return ", ".join(runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="every citation resolves")
    mode.add_argument("--write", action="store_true", help="regenerate the passages files")
    parser.add_argument("--seeds", type=Path, help="folder of the full seed texts (NNN_*.txt)")
    args = parser.parse_args(argv)
    citations = all_citations()
    if args.write:
        if args.seeds is None or not any(args.seeds.glob("[0-9][0-9][0-9]_*.txt")):
            print(f"error: --write needs --seeds, a folder of the full seed texts "
                  f"(got {args.seeds})", file=sys.stderr)
            return 2
        for path, text in expected_passages(args.seeds, citations).items():
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO)}")
    found = problems(citations)
    for problem in found:
        print(problem)
    print(f"{len(citations)} citations in {len(scanned_files())} files; "
          f"{len(found)} do not resolve")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

"""A few functions around SALib: the problem, the sample, the indices and a convergence check.

Both methods' samples are made of blocks (Sobol: one base sample's rows; Morris: one
trajectory), and the first half of the blocks is itself a valid sample of half the size. The
convergence check therefore compares the indices from the first N/2 blocks with those from all
N, at no extra cost: indices that still move when the sample doubles are not to be trusted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from .spec import Uncertainty

SALIB_DISTRIBUTIONS = {"uniform": "unif", "triangular": "triang", "truncnorm": "truncnorm"}


def salib_problem(uncertainties: tuple[Uncertainty, ...]) -> dict:
    """SALib's problem dictionary: names, bounds in SALib's form, and distributions."""
    bounds = []
    for u in uncertainties:
        if u.distribution == "triangular":
            bounds.append([u.low, u.high, (u.mode - u.low) / (u.high - u.low)])
        elif u.distribution == "truncnorm":
            bounds.append([u.low, u.high, u.mean, u.sd])
        else:
            bounds.append([u.low, u.high])
    return {"num_vars": len(uncertainties), "names": [u.name for u in uncertainties],
            "bounds": bounds, "dists": [SALIB_DISTRIBUTIONS[u.distribution] for u in uncertainties]}


def block_rows(kind: str, num_vars: int, second_order: bool) -> int:
    """Rows of one block: a Sobol base sample or a Morris trajectory."""
    if kind == "morris":
        return num_vars + 1
    return 2 * num_vars + 2 if second_order else num_vars + 2


def draw_sample(problem: dict, kind: str, N: int, second_order: bool, levels: int,
                seed: int) -> np.ndarray:
    """The design matrix (rows = model evaluations) for Morris or Sobol, from ``seed``.

    Values are clipped to [low, high]: SALib's rescaling can overshoot a bound by a rounding
    error, which validation would then reject.
    """
    if kind == "morris":
        X = morris_sample.sample(problem, N, num_levels=levels, seed=seed)
    else:
        X = sobol_sample.sample(problem, N, calc_second_order=second_order, seed=seed)
    lows, highs = (np.array([bound[i] for bound in problem["bounds"]]) for i in (0, 1))
    return np.clip(X, lows, highs)


def analyse(problem: dict, kind: str, X: np.ndarray, Y: np.ndarray, second_order: bool,
            levels: int, resamples: int, confidence_level: float, seed: int) -> dict:
    """SALib's indices of outputs ``Y`` (one per row of ``X``) with bootstrap intervals."""
    if kind == "morris":
        return morris_analyze.analyze(problem, X, Y, num_resamples=resamples,
                                      conf_level=confidence_level, num_levels=levels, seed=seed)
    return sobol_analyze.analyze(problem, Y, calc_second_order=second_order,
                                 num_resamples=resamples, conf_level=confidence_level, seed=seed)


def indices_table(kind: str, problem: dict, result: dict, outcome: str) -> pd.DataFrame:
    """One row per parameter: Morris mu, mu*, its interval and sigma, or Sobol S1 and ST with
    their interval half-widths (``*_conf``)."""
    columns = ("mu", "mu_star", "mu_star_conf", "sigma") if kind == "morris" \
        else ("S1", "S1_conf", "ST", "ST_conf")
    return pd.DataFrame({"outcome": outcome, "parameter": problem["names"],
                         **{name: np.asarray(result[name], dtype=float) for name in columns}})


def second_order_table(problem: dict, result: dict, outcome: str) -> pd.DataFrame:
    """One row per pair of parameters: Sobol S2 and its interval half-width."""
    names = problem["names"]
    rows = [{"outcome": outcome, "parameter": names[i], "other_parameter": names[j],
             "S2": float(result["S2"][i, j]), "S2_conf": float(result["S2_conf"][i, j])}
            for i in range(len(names)) for j in range(i + 1, len(names))]
    return pd.DataFrame(rows)


def convergence_table(kind: str, half: pd.DataFrame, full: pd.DataFrame,
                      tolerance: float) -> pd.DataFrame:
    """Change of each index between N/2 and N; ``converged`` when it is within ``tolerance``.

    Sobol indices are shares of variance, compared as they are; Morris mu* is compared
    relative to the largest mu* of the outcome, as its units are the outcome's.
    """
    names = ("mu_star",) if kind == "morris" else ("S1", "ST")
    rows = []
    for name in names:
        scale = full[name].abs().max() if kind == "morris" else 1.0
        change = (full[name] - half[name]).abs() / (scale if scale > 0 else 1.0)
        rows.append(pd.DataFrame({"outcome": full["outcome"], "parameter": full["parameter"],
                                  "index": name, "at_half_N": half[name], "at_N": full[name],
                                  "change": change, "converged": change <= tolerance}))
    return pd.concat(rows, ignore_index=True)

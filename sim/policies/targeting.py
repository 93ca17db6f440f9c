"""NLE targeting rules: the order in which brokers serve schools in need, and whom they pick.

``order_clients(rule, ...)`` returns the clients in the order brokers serve them and whether the
rule picks the nearest available supporter within reach or a random one.

* ``none``: no brokered support.
* ``nearest``: clients in random order, each to the nearest available supporter.
* ``neediest_first``: inadequate before requires improvement before other need, weakest first;
  each to the nearest supporter.
* ``cold_spots_first``: clients in local authorities with the least supply for their need
  first (supply / need ratio), each to the nearest supporter.
* ``random``: clients in random order, each to a random supporter within reach.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..model import SchoolSystemModel


def need_score(model: "SchoolSystemModel", clients: np.ndarray) -> np.ndarray:
    """Higher for greater need: grade first, then low effectiveness."""
    s = model.state
    return 10.0 * s.grade[clients] - s.effectiveness[clients]


def supply_need_ratio_by_la(model: "SchoolSystemModel", need: np.ndarray, supply: np.ndarray) -> np.ndarray:
    """(n_la,) system leaders available per school in need in each local authority."""
    la = model.world.local_authority
    n_la = len(model.world.la_names)
    need_count = np.bincount(la[need], minlength=n_la)
    supply_count = np.bincount(la[supply], minlength=n_la)
    return supply_count / np.maximum(need_count, 1)


def order_clients(rule: str, model: "SchoolSystemModel", need: np.ndarray,
                  supply: np.ndarray) -> tuple[np.ndarray, bool]:
    """Clients (school indices) in the order the rule serves them, and whether it picks the
    nearest available supporter (else a random one within reach)."""
    rng = model.rng
    clients = np.nonzero(need)[0]
    if rule == "none" or len(clients) == 0:
        return clients[:0], True
    if rule == "neediest_first":
        return clients[np.argsort(-need_score(model, clients), kind="stable")], True
    if rule == "cold_spots_first":
        ratio = supply_need_ratio_by_la(model, need, supply)[model.world.local_authority[clients]]
        shuffled = rng.permutation(len(clients))
        order = shuffled[np.argsort(ratio[shuffled], kind="stable")]
        return clients[order], True
    return clients[rng.permutation(len(clients))], rule != "random"

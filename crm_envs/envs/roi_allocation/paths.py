"""The driver -> loyalty path model: a weighted acyclic graph (Streukens et al. 2011).

Arcs carry marginal effects ``w_ij`` (Table 3; loyalty arcs of a logit use the logit marginal
effect at the operating point). The total effect of node p on node q is the sum over all
directed paths of the product of arc weights (Eq. 7 / A1.2). For an acyclic graph with weight
matrix W this is ``((I - W)^-1 - I)[p, q]``, since ``(I - W)^-1 = I + W + W^2 + ...`` and
``W^k`` sums the products over paths of exactly k arcs. Perturbing one arc (k, l) by delta
changes every total effect by ``lambda_pk * lambda_lq * delta`` (Eq. 9 / A1.7, with
``lambda_xx = 1``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["PathModel", "arcs_from_table", "logit_marginal_factor"]


@dataclass(frozen=True, eq=False)
class PathModel:
    """A weighted directed acyclic graph of constructs.

    Attributes:
        nodes: Construct names, in any order.
        arcs: ``{(from, to): weight}`` marginal effects.
    """

    nodes: tuple[str, ...]
    arcs: Mapping[tuple[str, str], float]

    def __post_init__(self) -> None:
        nodes = tuple(self.nodes)
        if len(set(nodes)) != len(nodes):
            raise ValueError(f"path model nodes must be unique, got {nodes}")
        object.__setattr__(self, "nodes", nodes)
        arcs = {}
        for (src, dst), w in dict(self.arcs).items():
            for end in (src, dst):
                if end not in nodes:
                    raise ValueError(f"arc ({src!r} -> {dst!r}) names unknown construct {end!r}")
            if src == dst:
                raise ValueError(f"arc ({src!r} -> {dst!r}) is a self-loop")
            if not np.isfinite(w):
                raise ValueError(f"arc ({src!r} -> {dst!r}) has non-finite weight {w}")
            arcs[(src, dst)] = float(w)
        object.__setattr__(self, "arcs", arcs)
        self._topological_order()  # raises on a cycle

    def index(self, node: str) -> int:
        """Position of ``node`` in :attr:`nodes`."""
        try:
            return self.nodes.index(node)
        except ValueError:
            raise ValueError(f"unknown construct {node!r}; known: {list(self.nodes)}") from None

    def _topological_order(self) -> list[str]:
        indeg = {n: 0 for n in self.nodes}
        for _, dst in self.arcs:
            indeg[dst] += 1
        ready = [n for n in self.nodes if indeg[n] == 0]
        order = []
        while ready:
            n = ready.pop()
            order.append(n)
            for src, dst in self.arcs:
                if src == n:
                    indeg[dst] -= 1
                    if indeg[dst] == 0:
                        ready.append(dst)
        if len(order) != len(self.nodes):
            cyclic = sorted(n for n in self.nodes if indeg[n] > 0)
            raise ValueError(f"path model must be acyclic; a cycle runs through {cyclic}")
        return order

    @property
    def weights(self) -> NDArray[np.float64]:
        """Weight matrix W with ``W[i, j]`` the weight of arc i -> j (0 where no arc)."""
        w = np.zeros((len(self.nodes), len(self.nodes)))
        for (src, dst), v in self.arcs.items():
            w[self.index(src), self.index(dst)] = v
        return w

    def total_effects(self) -> NDArray[np.float64]:
        """All total effects ``lambda[p, q]`` in closed form: ``(I - W)^-1 - I``."""
        n = len(self.nodes)
        return np.linalg.solve(np.eye(n) - self.weights, np.eye(n)) - np.eye(n)

    def total_effect(self, src: str, dst: str) -> float:
        """Total effect of ``src`` on ``dst`` (Eq. 7 / A1.2)."""
        return float(self.total_effects()[self.index(src), self.index(dst)])

    def paths(self, src: str, dst: str) -> list[tuple[str, ...]]:
        """Every directed path from ``src`` to ``dst`` (explicit enumeration)."""
        self.index(src), self.index(dst)
        out: list[tuple[str, ...]] = []

        def walk(path: tuple[str, ...]) -> None:
            if path[-1] == dst:
                out.append(path)
                return
            for a, b in self.arcs:
                if a == path[-1]:
                    walk((*path, b))

        walk((src,))
        return out

    def total_effect_by_paths(self, src: str, dst: str) -> float:
        """Total effect as the sum over enumerated paths of arc products (Eq. 7 literally)."""
        return float(
            sum(np.prod([self.arcs[(p[i], p[i + 1])] for i in range(len(p) - 1)])
                for p in self.paths(src, dst))
        )  # fmt: skip

    def with_arc(self, src: str, dst: str, weight: float) -> PathModel:
        """Copy with arc (src, dst) set to ``weight``."""
        if (src, dst) not in self.arcs:
            raise ValueError(f"no arc ({src!r} -> {dst!r}); arcs: {list(self.arcs)}")
        return PathModel(self.nodes, {**self.arcs, (src, dst): weight})

    def sensitivity_update(
        self, sources: Sequence[str], target: str, arc: tuple[str, str], delta: float
    ) -> NDArray[np.float64]:
        """Total effects of ``sources`` on ``target`` after adding ``delta`` to ``arc`` (Eq. 9).

        ``lambda'_pq = lambda_pq + lambda_pk * lambda_lq * delta`` with ``lambda_xx = 1``.

        Args:
            sources: Nodes p.
            target: Node q.
            arc: The perturbed arc (k, l).
            delta: Change of the arc weight.

        Returns:
            The updated total effects, one per source.
        """
        k, l_ = arc
        if arc not in self.arcs:
            raise ValueError(f"no arc ({k!r} -> {l_!r}); arcs: {list(self.arcs)}")
        lam = self.total_effects() + np.eye(len(self.nodes))
        q, ki, li = self.index(target), self.index(k), self.index(l_)
        p = np.array([self.index(s) for s in sources])
        return lam[p, q] - (p == q) + lam[p, ki] * lam[li, q] * delta


def logit_marginal_factor(probability: float) -> float:
    """Return p (1 - p), the factor turning a logit coefficient into a marginal effect at p."""
    if not 0.0 < probability < 1.0:
        raise ValueError(f"operating probability must lie in (0, 1), got {probability}")
    return probability * (1.0 - probability)


def arcs_from_table(
    linear: Mapping[tuple[str, str], float],
    logit: Mapping[tuple[str, str], float],
    operating_probability: float,
) -> dict[tuple[str, str], float]:
    """Arc weights: linear coefficients as they are, logit ones times p (1 - p) (Eq. 7 text).

    Args:
        linear: Arcs of linear equations ``{(from, to): coefficient}``.
        logit: Arcs into a logit outcome ``{(from, to): coefficient}``.
        operating_probability: The outcome probability at which marginal effects are taken.

    Returns:
        All arcs with marginal-effect weights.
    """
    f = logit_marginal_factor(operating_probability)
    return {**dict(linear), **{k: v * f for k, v in logit.items()}}

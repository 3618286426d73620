"""Customer groups, promotions and their value (Mandania, Cadogan, Liu & Kazmi 2025).

Groups. After a 6-month calibration window a first-time cohort splits by repeat frequency x
and by months since the last repeat purchase r = n - t_x into 14 groups: no repeat purchase;
x = 1, 2, 3 with r in {0} ("up to 1 month ago"), {1, 2} ("1-3 months") or {3, 4, 5}
("3-6 months"); x = 4 and x = 5+ with r in {0} or {1, 2}. Crossed with the three contribution
levels (15, 22 and 40 per transaction) they give the segments a plan decides for.

Value. Over the 5-month planning horizon a segment's members make ``b[g, s]`` expected
transactions in month s without a promotion (BG/BB, Eq. 13 differences). A promotion of type
k for D months adds ``lift[g, k, s]`` transactions per member in each of its months and costs
``cost_k * fare`` on *every* transaction made during it, baseline ones included, where
``fare = contribution / commission``. Monthly cash flows are discounted by ``discount``. The
uplift of (k, D) for a segment is the promoted minus the baseline discounted profit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.special import comb

from crm_envs.envs.promotion.clv import BGBB

__all__ = ["GROUPS", "Group", "PromotionModel"]


@dataclass(frozen=True)
class Group:
    """A frequency/recency group: its name and member (x, t_x) cells for n = 6."""

    name: str
    cells: tuple[tuple[int, int], ...]


def _groups(n: int = 6) -> tuple[Group, ...]:
    buckets = {"up to 1 month": (0,), "1-3 months": (1, 2), "3-6 months": (3, 4, 5)}
    out = [Group("no repeat", ((0, 0),))]
    for x, names in ((1, None), (2, None), (3, None), (4, ("up to 1 month", "1-3 months")),
                     (5, ("up to 1 month", "1-3 months"))):  # fmt: skip
        for label, rs in buckets.items():
            if names is not None and label not in names:
                continue
            xs = range(5, n + 1) if x == 5 else (x,)
            cells = tuple((xx, n - r) for xx in xs for r in rs if xx <= n - r)
            if cells:
                out.append(Group(f"{x}{'+' if x == 5 else ''}/{label}", cells))
    return tuple(out)


#: The 14 frequency/recency groups of a 6-month calibration window.
GROUPS = _groups()


@dataclass(frozen=True, eq=False)
class PromotionModel:
    """Everything a plan or an environment needs, derived once from the params.

    Attributes:
        weights: (G,) share of the cohort in each group (exact BG/BB probabilities).
        baseline: (G, S) expected transactions per member in each horizon month.
        p_alive: (G,) average probability of being alive at the end of calibration.
        lift: (G, K, S) true extra transactions per member in promotion month s.
        survey_lift: (G, K, S) the survey-based initial estimate of ``lift``.
        contribution: (C,) contribution per transaction of each level.
        members: (G, C) customers per segment.
        cost: (K,) cost of a promotion as a fraction of the fare.
        commission: Contribution as a fraction of the fare.
        discount: Monthly discount factor of cash flows.
    """

    weights: NDArray[np.float64]
    baseline: NDArray[np.float64]
    p_alive: NDArray[np.float64]
    lift: NDArray[np.float64]
    survey_lift: NDArray[np.float64]
    contribution: NDArray[np.float64]
    members: NDArray[np.float64]
    cost: NDArray[np.float64]
    commission: float
    discount: float
    names: tuple[str, ...] = field(default=())

    @property
    def n_groups(self) -> int:
        """Number of frequency/recency groups G."""
        return self.weights.shape[0]

    @property
    def horizon(self) -> int:
        """Planning horizon S in months (the longest promotion)."""
        return self.baseline.shape[1]

    def uplift_per_member(self, lift: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """(G, C, K, S) discounted profit uplift per member of promotion k run for D = 1..S.

        Args:
            lift: (G, K, S) lift to evaluate with (default: the true ``lift``).
        """
        lift = self.lift if lift is None else lift
        disc = self.discount ** np.arange(1, self.horizon + 1)  # (S,)
        c = self.contribution[None, :, None, None]  # (1, C, 1, 1)
        fare = c / self.commission
        b = self.baseline[:, None, None, :]  # (G, 1, 1, S)
        extra = lift[:, None, :, :]  # (G, 1, K, S)
        cost = self.cost[None, None, :, None]
        per_month = disc * (c * extra - cost * fare * (b + extra))  # (G, C, K, S)
        return np.cumsum(per_month, axis=-1)

    def uplift(self, lift: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """(G, C, K, S) total uplift of each segment: per-member uplift times members."""
        return self.uplift_per_member(lift) * self.members[:, :, None, None]

    def resource(self) -> NDArray[np.float64]:
        """(G, C, K, S) expected discount cost (undiscounted) of promotion k for D months."""
        fare = self.contribution[None, :, None, None] / self.commission
        tx = self.baseline[:, None, None, :] + self.lift[:, None, :, :]
        per_member = np.cumsum(self.cost[None, None, :, None] * fare * tx, axis=-1)
        return per_member * self.members[:, :, None, None]

    def baseline_profit(self) -> NDArray[np.float64]:
        """(G, C) discounted profit of each segment over the horizon without promotions."""
        disc = self.discount ** np.arange(1, self.horizon + 1)
        per_member = self.contribution[None, :] * (self.baseline @ disc)[:, None]
        return per_member * self.members


def group_weights(model: BGBB, n: int = 6) -> NDArray[np.float64]:
    """(G,) probability that a cohort member falls in each group after n periods.

    P(x, t_x) = C(t_x - 1, x - 1) L(x, t_x, n) for x >= 1 (that many purchase patterns share a
    likelihood) and L(0, 0, n) for x = 0.
    """
    out = np.zeros(len(GROUPS))
    for gi, g in enumerate(GROUPS):
        for x, t in g.cells:
            mult = comb(t - 1, x - 1) if x > 0 else 1.0
            out[gi] += mult * float(np.exp(model.log_likelihood(x, t, n)))
    return out


def group_average(model: BGBB, values, n: int = 6) -> NDArray[np.float64]:
    """Group-weighted average of ``values(x, t_x)`` over each group's cells."""
    out = np.zeros(len(GROUPS))
    for gi, g in enumerate(GROUPS):
        w = np.array([(comb(t - 1, x - 1) if x > 0 else 1.0) * np.exp(model.log_likelihood(x, t, n))
                      for x, t in g.cells])  # fmt: skip
        v = np.array([values(x, t) for x, t in g.cells])
        out[gi] = float(w @ v / w.sum())
    return out

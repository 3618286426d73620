"""Customer groups, promotions and their value (Mandania, Cadogan, Liu & Kazmi 2025).

Groups. After a 6-month calibration window a first-time cohort splits by repeat frequency x
and by months since the last repeat purchase r = n - t_x into 14 groups: no repeat purchase;
x = 1, 2, 3 with r in {0} ("up to 1 month ago"), {1, 2} ("1-3 months") or {3, 4, 5}
("3-6 months"); x = 4 and x = 5+ with r in {0} or {1, 2}. Crossed with the three contribution
levels (observed average contributions 15, 22 and 40 per transaction) they give the segments
a plan decides for.

Value. Over the 5-month planning horizon a segment's members make ``b[g, s]`` expected
transactions in month s without a promotion (BG/BB, Eq. 13 differences). Their contribution
per future transaction is the gamma-gamma conditional expectation given the group's
transactions and the level's observed average (Fader, Hardie & Lee 2005), when the params
carry a spend model. A promotion of type k for D months adds ``lift[g, k, s]`` transactions
per member in each of its months and costs ``cost_k * fare`` on *every* transaction made
during it, baseline ones included, where ``fare = contribution / commission``. Monthly cash
flows are discounted by ``discount``. The uplift of (k, D) for a segment is the promoted
minus the baseline discounted profit.

Response to a promotion (our model; the paper's equations were lost in extraction):

* a member still buying here (alive) buys ``appeal_k * profile_s * headroom_g`` times more in
  promotion month s, where ``headroom_g = max(0, 1 - E[p | alive]_g / wallet)``: customers
  already buying near their whole wallet cannot buy more, so a discount only costs;
* a member who has stopped buying here (BG/BB's dropout: gone to another operator, the
  paper's share-of-wallet story) is won back at ``winback * appeal_k * profile_s * q_g``
  extra transactions a month, ``q_g`` being the lapsed members' mean purchase probability.

The survey's estimate (the learner's prior) is each group's stated preference for each
promotion type times its stated total demand for trips (with any operator: the survey cannot
tell which share of that wallet the agency already has), equally effective in every month
(the paper's naive assumption): ``survey[g, k, s] = sigma * preference[g, k] * demand_g``,
with ``sigma`` set so that the survey is right about the first promotion type's lift on
average over the cohort. It misplaces the lift: too much on frequent buyers with no headroom,
too little on lapsed ones, and flat over the months.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.special import comb

from crm_envs.envs.promotion.clv import BGBB

__all__ = ["GROUPS", "Group", "PromotionModel", "cell_weights", "group_average", "group_weights"]


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
        p_alive: (G,) probability of still buying here at the end of calibration.
        rate: (G,) mean monthly purchase probability of the alive members.
        lapsed_rate: (G,) mean purchase probability of the members who dropped out.
        headroom: (G,) share of the wallet still open to the alive members, in [0, 1].
        lift: (G, K, S) true extra transactions per member in promotion month s.
        survey_lift: (G, K, S) the survey-based initial estimate of ``lift``.
        contribution: (G, C) contribution per future transaction of each segment.
        members: (G, C) customers per segment.
        cost: (K,) cost of a promotion as a fraction of the fare.
        commission: Contribution as a fraction of the fare.
        discount: Monthly discount factor of cash flows.
        names: Group names.
    """

    weights: NDArray[np.float64]
    baseline: NDArray[np.float64]
    p_alive: NDArray[np.float64]
    rate: NDArray[np.float64]
    lapsed_rate: NDArray[np.float64]
    headroom: NDArray[np.float64]
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

    @property
    def fare(self) -> NDArray[np.float64]:
        """(G, C) fare per transaction: contribution / commission."""
        return self.contribution / self.commission

    def uplift_per_member(self, lift: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """(G, C, K, S) discounted profit uplift per member of promotion k run for D = 1..S.

        Args:
            lift: (G, K, S) lift to evaluate with (default: the true ``lift``).
        """
        lift = self.lift if lift is None else lift
        disc = self.discount ** np.arange(1, self.horizon + 1)  # (S,)
        c = self.contribution[:, :, None, None]  # (G, C, 1, 1)
        fare = c / self.commission
        b = self.baseline[:, None, None, :]  # (G, 1, 1, S)
        extra = lift[:, None, :, :]  # (G, 1, K, S)
        cost = self.cost[None, None, :, None]
        per_month = disc * (c * extra - cost * fare * (b + extra))  # (G, C, K, S)
        return np.cumsum(per_month, axis=-1)

    def uplift(self, lift: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """(G, C, K, S) total uplift of each segment: per-member uplift times members."""
        return self.uplift_per_member(lift) * self.members[:, :, None, None]

    def resource_per_member(self) -> NDArray[np.float64]:
        """(G, C, K, S) resource a promotion uses per member: the discount on customary sales.

        The expected promotion cost on the transactions the member would make anyway,
        undiscounted, for promotion k run D = 1..S months: ``cost_k * fare * sum_{s<D}
        b[g, s]``. It needs no lift, so the firm knows it before the campaign and a budget on
        it can be checked before a plan runs (the env rejects an over-budget plan).
        """
        fare = self.fare[:, :, None, None]
        b = self.baseline[:, None, None, :]
        return np.cumsum(self.cost[None, None, :, None] * fare * b, axis=-1)

    def resource(self) -> NDArray[np.float64]:
        """(G, C, K, S) total resource of each segment: per member times members."""
        return self.resource_per_member() * self.members[:, :, None, None]

    def baseline_profit(self) -> NDArray[np.float64]:
        """(G, C) discounted profit of each segment over the horizon without promotions."""
        disc = self.discount ** np.arange(1, self.horizon + 1)
        per_member = self.contribution * (self.baseline @ disc)[:, None]
        return per_member * self.members


def group_weights(model: BGBB, n: int = 6) -> NDArray[np.float64]:
    """(G,) probability that a cohort member falls in each group after n periods."""
    return np.array([w.sum() for w in cell_weights(model, n)])


def cell_weights(model: BGBB, n: int = 6) -> list[NDArray[np.float64]]:
    """Per group, the probability of each of its (x, t_x) cells.

    P(x, t_x) = C(t_x - 1, x - 1) L(x, t_x, n) for x >= 1 (that many purchase patterns share a
    likelihood) and L(0, 0, n) for x = 0.
    """

    def weight(x: int, t: int) -> float:
        return (comb(t - 1, x - 1) if x > 0 else 1.0) * float(np.exp(model.log_likelihood(x, t, n)))

    return [np.array([weight(x, t) for x, t in g.cells]) for g in GROUPS]


def group_average(model: BGBB, values, n: int = 6, weights=None) -> NDArray[np.float64]:
    """Group average of ``values(x, t_x)`` over each group's cells.

    Args:
        model: The BG/BB model.
        values: Function of (x, t_x) returning a number or an array (averaged along axis 0).
        n: Calibration periods.
        weights: Function of (x, t_x) giving an extra weight per cell (default 1): the average
            is then weighted by cell probability times this weight.
    """
    out = []
    for g, w in zip(GROUPS, cell_weights(model, n), strict=True):
        if weights is not None:
            w = w * np.array([float(weights(x, t)) for x, t in g.cells])
        v = np.array([values(x, t) for x, t in g.cells], dtype=float)
        out.append(np.tensordot(w, v, axes=(0, 0)) / w.sum())
    return np.array(out)

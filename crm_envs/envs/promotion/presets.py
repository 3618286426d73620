"""Named promotion configurations."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.params import lookup_preset
from crm_envs.envs.promotion.clv import BGBB
from crm_envs.envs.promotion.params import PromotionParams, bgbb_for_facts

__all__ = [
    "NO_REPEAT_TRANSACTIONS",
    "PRESETS",
    "TOP_SEGMENTS_LOSS",
    "get_preset",
    "mandania2025_ferry",
    "most_profitable_segments",
]

NO_REPEAT_TRANSACTIONS = 10_502.0
"""Mandania et al. (2025): the no-repeat group makes "over 10,502 transactions" in 5 months."""

TOP_SEGMENTS_LOSS = -11_948.03
"""Mandania et al. (2025): promoting the most profitable customers for 5 months loses this."""

#: Loyalty-discount preference by group, before scaling (our choice of shape: it rises with
#: purchase frequency and, within a frequency, with recency; the one-time buyers like it
#: least). Mapped affinely to the paper's Table 5 mean 65.6% and standard deviation 22.7%
#: across groups.
_LOYALTY_SHAPE = (0.0, 0.25, 0.2, 0.1, 0.5, 0.45, 0.35, 0.75, 0.7, 0.6, 0.9, 0.85, 1.0, 0.95)
#: How the other answers split over the bundle, free cancellation and cabin upgrade (ours).
_OTHER_SPLIT = (0.45, 0.35, 0.20)


def survey_preferences(mean: float = 0.656, sd: float = 0.227) -> NDArray[np.float64]:
    """(G, 4) survey preference shares: loyalty discount with the given mean and s.d.

    The paper's Table 5 survives only for the loyalty discount (normalised mean 65.6%,
    standard deviation 22.7% across customer categories); the shape over groups and the split
    of the other answers are our choices (see ``mandania2025_ferry``). The s.d. is the
    population one (ddof = 0) over the 14 groups.
    """
    shape = np.array(_LOYALTY_SHAPE)
    loyalty = mean + sd * (shape - shape.mean()) / shape.std()
    rest = 1.0 - loyalty
    return np.column_stack([loyalty] + [f * rest for f in _OTHER_SPLIT])


def most_profitable_segments(params: PromotionParams, count: int = 3) -> NDArray[np.int64]:
    """Flat (group x level) indices of the ``count`` segments with the highest CLV per member.

    The paper's managerial intuition: promote the most profitable customers (expected
    discounted profit per member over the horizon, without promotion).
    """
    m = params.build()
    clv = (m.baseline_profit() / m.members).ravel()
    return np.argsort(clv)[-count:]


def _commission_for_loss(params: PromotionParams, loss: float) -> float:
    """The commission at which the most profitable segments' 7%-for-5-months uplift is ``loss``.

    A segment's uplift is ``A - B / commission`` (A: contribution on the extra trips; B: the
    discount on every trip of the promotion, in contribution units times the commission), so
    the commission follows in closed form. The most profitable segments do not depend on it.
    """
    m = params.build()
    top = most_profitable_segments(params)
    g, c = np.unravel_index(top, m.members.shape)
    disc = m.discount ** np.arange(1, m.horizon + 1)
    contrib, mem = m.contribution[g, c], m.members[g, c]
    lift, base = m.lift[g, 0], m.baseline[g]
    a = float((mem * contrib * (lift @ disc)).sum())
    b = float((mem * m.cost[0] * contrib * ((base + lift) @ disc)).sum())
    return b / (a - loss)


def mandania2025_ferry() -> PromotionParams:
    """The online ferry travel agency of Mandania, Cadogan, Liu & Kazmi (2025).

    The paper's equations and most tables were lost in extraction. Each surviving fact is
    either *calibrated* (a parameter was set to make it true) or comes *out of the model*
    (checked, not fitted); ``crm_envs.papers.mandania2025.reproduce`` checks every one.

    Calibrated:

    * BG/BB (Fader, Hardie & Shang 2010) on monthly purchases, 6-month calibration window,
      5-month horizon: fitted by :func:`bgbb_for_facts` to 3.10 expected transactions in the
      next 5 months for a customer active in all 6, 0.03 for one with no repeat purchase, and
      90.5% of the cohort in that group, plus our fourth condition (mean monthly dropout 0.10).
    * Cohort size 386,814: the no-repeat group's expected transactions in the next 5 months
      equal the paper's 10,502 (10,502 / (0.905 x 0.03) customers).
    * Commission 19.6% of the fare: promoting the three most profitable segments (highest
      CLV per member: 5+/up to 1 month, 4/up to 1 month and 5+/1-3 months, all at the high
      contribution level) with the 7% loyalty discount for 5 months loses the paper's
      GBP 11,948.03 (solved in closed form).
    * Survey preferences (the learner's prior): the loyalty-discount share has the paper's
      Table 5 mean 65.6% and s.d. 22.7% across groups (:func:`survey_preferences`).
    * Response parameters, chosen by hand so that the paper's qualitative findings hold in
      the true model: appeal 0.8 / 0.3 / 0.15 / 0.2 for the 7% loyalty discount / bundle /
      free cancellation / cabin upgrade, wallet 0.55 trips a month, win-back 1.0 (see
      :mod:`~crm_envs.envs.promotion.model`). They make rule 3's optimum the 7% discount to
      all groups for 5 months, and Figure 7's pattern (below) hold.

    Out of the model (not fitted; the reproduce checks report them):

    * Figure 7 (low contribution, 7% for 5 months): the frequent, recent buyers (3/up to 1
      month, 4/..., 5+/...) lose money, and the largest per-member gains go to the
      low-frequency buyers whose last purchase was 3-6 months ago (1/, 2/, 3/3-6 months).
    * Rule 2: exactly 1 month for the groups that lose under every duration and 5 for the
      rest. This follows from the rising month profile: a segment's monthly gain changes sign
      at most once, from loss to gain, so its best duration is 1 or 5.
    * The no-repeat group expects more transactions than any other group (the paper: it is
      collectively more valuable than the other categories).

    Our assumptions, where the text leaves a choice open:

    * Contribution levels 15, 22 and 40 are the customers' observed average contributions,
      50/30/20% of the cohort; a gamma-gamma spend model (Fader, Hardie & Lee 2005) with
      p = 6, q = 4 and v = 11.05 (population mean 22.1, the levels' mean) shrinks each
      segment's expected contribution towards the mean, more for few transactions.
    * Cash flows discounted 1% a month; promotion costs 7%, 4%, 2% and 5% of the fare on every
      trip during the promotion (the paper's four types survive only as "loyalty discount,
      the most preferred" and the optimal 7% discount; the other three are ours).
    * The true effect rises over the promotion's months, 0.6, 0.8, 1.0, 1.2, 1.4 (ferry trips
      are booked ahead, and word of a promotion spreads); the survey assumes it equal in every
      month, the paper's named naive assumption.
    * The survey's lift: preference share x the group's total demand for trips (it cannot see
      the share of wallet already here), scaled to be right on average over the cohort for
      each type. So it overstates the frequent buyers and understates the lapsed ones. Loyalty
      preference rises with frequency and recency; the other answers split 45/35/20.
    """
    bgbb = tuple(bgbb_for_facts())
    m = BGBB(*bgbb)
    no_repeat = float(m.pmf(0, 6)) * float(m.conditional_expected_transactions(5, 0, 0, 6))
    draft = PromotionParams(
        bgbb=bgbb,
        n_calibration=6,
        horizon=5,
        cohort_size=NO_REPEAT_TRANSACTIONS / no_repeat,
        contributions=(15.0, 22.0, 40.0),
        contribution_shares=(0.5, 0.3, 0.2),
        spend=(6.0, 4.0, 11.05),
        commission=0.2,
        discount=0.99,
        promotion_names=(
            "7% loyalty discount",
            "bundle offer",
            "free cancellation",
            "free cabin upgrade",
        ),
        promotion_costs=(0.07, 0.04, 0.02, 0.05),
        appeal=(0.8, 0.3, 0.15, 0.2),
        winback=1.0,
        wallet=0.55,
        month_profile=(0.6, 0.8, 1.0, 1.2, 1.4),
        survey_preference=survey_preferences(),
    )
    return draft.replace(commission=_commission_for_loss(draft, TOP_SEGMENTS_LOSS))


PRESETS: dict[str, Callable[[], PromotionParams]] = {"mandania2025_ferry": mandania2025_ferry}


def get_preset(name: str) -> PromotionParams:
    """Return the params of a named preset (an unknown name suggests the closest one)."""
    return lookup_preset("Promotion", name, PRESETS)

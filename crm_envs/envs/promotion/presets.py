"""Named promotion configurations."""

from __future__ import annotations

from collections.abc import Callable

from crm_envs.core.params import lookup_preset
from crm_envs.envs.promotion.params import PromotionParams, bgbb_for_facts

__all__ = ["PRESETS", "get_preset", "mandania2025_ferry"]


def mandania2025_ferry() -> PromotionParams:
    """The online ferry travel agency of Mandania, Cadogan, Liu & Kazmi (2025).

    Sources and decisions (the paper's equations and most tables were lost in extraction):

    * BG/BB on monthly purchases, 6-month calibration window, 5-month planning horizon, 14
      frequency/recency groups, contribution levels 15, 22 and 40 per transaction, four
      promotion types with a 7% loyalty discount among them: the paper.
    * BG/BB parameters: fitted by :func:`bgbb_for_facts` to the paper's three facts -- a
      customer with a purchase in each calibration month expects 3.10 transactions over the
      next 5 months, one without a repeat purchase expects 0.03, and those are 90.5% of the
      cohort -- plus our fourth condition, a mean monthly dropout probability of 0.10.
    * Cohort of 10,000 customers, split 50/30/20% over the contribution levels; contribution
      is 25% of the fare; cash flows discounted 1% a month: our assumptions.
    * Promotions (cost as a fraction of the fare on every transaction during the promotion):
      7% loyalty discount, 15% loyalty discount, 4% bundle offer, 2% free cancellation, with
      true appeals 0.22, 0.26, 0.04, 0.015 extra trips per alive member and month at full
      wallet headroom. Loyalty discounts are the most preferred type in the paper's survey.
    * Share of wallet: a customer makes at most 0.8 trips a month with any operator, so
      groups that already buy near that rate gain nothing from a promotion and lose its cost
      (the paper's finding for high-frequency, recent groups).
    * True effect by month of the promotion: 1.3, 1.1, 1.0, 0.8, 0.6 (promotions wear off).
    * Survey-based initial estimates: stated interest, so they miss the wallet headroom
      (frequent buyers say a discount would make them buy more), assume equal months (the
      paper's "naive assumption") and overstate the 15% discount (x1.5), the bundle (x1.6)
      and free cancellation (x2.0).
    """
    return PromotionParams(
        bgbb=tuple(bgbb_for_facts()),
        n_calibration=6,
        horizon=5,
        cohort_size=10_000.0,
        contributions=(15.0, 22.0, 40.0),
        contribution_shares=(0.5, 0.3, 0.2),
        commission=0.25,
        discount=0.99,
        promotion_names=(
            "7% loyalty discount",
            "15% loyalty discount",
            "bundle offer",
            "free cancellation",
        ),
        promotion_costs=(0.07, 0.15, 0.04, 0.02),
        appeal=(0.22, 0.26, 0.04, 0.015),
        wallet=0.8,
        month_profile=(1.3, 1.1, 1.0, 0.8, 0.6),
        survey_bias=(1.0, 1.5, 1.6, 2.0),
    )


PRESETS: dict[str, Callable[[], PromotionParams]] = {"mandania2025_ferry": mandania2025_ferry}


def get_preset(name: str) -> PromotionParams:
    """Return the params of a named preset (an unknown name suggests the closest one)."""
    return lookup_preset("Promotion", name, PRESETS)

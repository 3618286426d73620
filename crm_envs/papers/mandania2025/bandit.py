"""How hard each ``PromotionBandit-v2`` variant is: best-arm gap over reward s.d.

A bandit is only a learning problem if one pull cannot tell the best arm from the runner-up.
:func:`bandit_difficulty` reports, for the default variant (all segments, rule 3) and for
each single-segment variant, the best arm, the gap to the second-best arm in units of the
best arm's reward standard deviation for one pull, and whether it is a near-tie (a gap so
small that no bandit separates the two arms in a useful number of pulls).
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_envs.core.params import check_scalar
from crm_envs.envs.promotion.env import PromotionEnv

__all__ = ["NEAR_TIE", "BanditDifficulty", "bandit_difficulty"]

NEAR_TIE = 0.02
"""Gap / s.d. below which a variant counts as a near-tie (2,500+ pulls per arm to separate
the two best arms at 1 s.e.)."""


@dataclass(frozen=True)
class BanditDifficulty:
    """One variant's difficulty.

    Attributes:
        variant: ``"all segments"`` or the segment's group and contribution level.
        segment: ``(group, level)`` or None.
        best_arm: Index of the best arm.
        gap_over_sd: Best-arm gap over the best arm's reward s.d. for one pull.
        near_tie: Whether ``gap_over_sd < NEAR_TIE``.
    """

    variant: str
    segment: tuple[int, int] | None
    best_arm: int
    gap_over_sd: float
    near_tie: bool


def bandit_difficulty(
    batch_size: float | None = 1000.0, preset: str = "mandania2025_ferry"
) -> list[BanditDifficulty]:
    """Difficulty of the default variant and of every single-segment variant.

    Args:
        batch_size: Customers per pull (None: the whole cohort or segment).
        preset: The preset.

    Returns:
        The default variant first, then the 42 segments in (group, level) order.
    """
    if batch_size is not None:
        check_scalar("batch_size", batch_size, low=0.0, low_open=True)
    default = PromotionEnv(preset=preset, batch_size=batch_size).task
    out = [_row("all segments", None, default)]
    model = default.model
    levels = ("low", "medium", "high")
    for g, name in enumerate(model.names):
        for c in range(model.members.shape[1]):
            setup = PromotionEnv(preset=preset, segment=(g, c), batch_size=batch_size).task
            out.append(_row(f"{name}, {levels[c] if c < 3 else c} contribution", (g, c), setup))
    return out


def _row(variant, segment, setup) -> BanditDifficulty:
    gap = setup.difficulty()
    best = int(setup.expected_rewards.argmax())
    return BanditDifficulty(variant, segment, best, gap, gap < NEAR_TIE)

"""``crm_envs/PromotionBandit-v2`` and ``crm_envs/PromotionCampaign-v2``: single and vector envs.

One env class and one vector env class for both ids, on the shared kernel driver
(:mod:`crm_envs.core.wrappers`) over one task,
:class:`~crm_envs.envs.promotion.task.PromotionTask`. The variant is the registration kwarg
``campaign`` (False: the bandit, True: the campaign), like ROI's ``discrete`` and B2B's
``continuous``; the arguments whose defaults differ between the two ids default to the chosen
variant's (:data:`~crm_envs.envs.promotion.task.VARIANT_DEFAULTS`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.wrappers import TaskEnv, TaskVectorEnv
from crm_envs.envs.promotion.params import PromotionParams
from crm_envs.envs.promotion.task import (
    RULE_TEXT,
    VARIANT_DEFAULT,
    VARIANT_DEFAULTS,
    PromotionTask,
)

__all__ = [
    "RULE_TEXT",
    "VARIANT_DEFAULTS",
    "PromotionEnv",
    "PromotionTask",
    "PromotionVectorEnv",
]


class PromotionEnv(TaskEnv):
    """Promotions valued by CLV: a bandit over (promotion, duration) arms, or whole campaigns.

    Both ids of Mandania, Cadogan, Liu & Kazmi (2025): ``campaign=False`` is the bandit
    (``PromotionBandit-v2``), ``campaign=True`` the campaign (``PromotionCampaign-v2``).

    ## The bandit (``campaign=False``)

    ### Description

    A ferry travel agency (Mandania, Cadogan, Liu & Kazmi 2025) picks, each pull, one arm:
    no promotion, or promotion type k for D = 1..5 months. A pull promotes a batch of
    ``batch_size`` customers (default 1,000): of one segment (``segment=(group, level)``) or,
    by default, drawn in the cohort's proportions from every segment, all getting the same
    arm (business rule 3). The reward is the batch's realised discounted profit over the
    horizon minus its expected baseline profit: noisy, with expectation equal to the arm's
    true CLV uplift, which the learner does not know. The unit of a pull sets the
    difficulty: a pull that promotes the paper's whole cohort of 387,000 customers puts the
    best arm 11.8 reward standard deviations ahead of the runner-up, so one pull per arm
    finds it; a batch of 1,000 puts it 0.60 s.d. ahead (the gap over s.d. grows with the
    square root of the batch).

    ### Difficulty (best-arm gap / reward s.d. of one pull, ``setup.difficulty()``)

    On the ``mandania2025_ferry`` preset at the default batch of 1,000 (Poisson noise, the
    least a real batch would show; the three contribution levels of a group are equally
    hard). ``crm_envs.papers.mandania2025.bandit.bandit_difficulty`` recomputes the table.

    | variant | best arm | gap / s.d. |
    |---|---|---:|
    | all segments (default) | 7% discount, 5 months | 0.60 |
    | whole cohort (``batch_size=None``) | 7% discount, 5 months | 11.8 |
    | no repeat | 7% discount, 5 months | 0.40 |
    | 1/up to 1, 1/1-3, 1/3-6 months | 7% discount, 5 months | 1.23, 1.69, 3.68 |
    | 2/up to 1, 2/1-3, 2/3-6 months | none; 7%, 5 months; 7%, 5 months | 0.38, 1.52, 4.46 |
    | 3/up to 1, 3/1-3, 3/3-6 months | none; none; 7%, 5 months | 0.62, 0.44, 5.32 |
    | 4/up to 1, 4/1-3 months | none | 0.88, 0.63 |
    | 5+/up to 1, 5+/1-3 months | none | 1.14, 0.86 |

    No segment is a near-tie (gap under 0.02 s.d.): the closest two best arms are 0.38 s.d.
    apart. Segments above 1 s.d. are easy at this batch; a smaller ``batch_size`` makes them
    hard (0.60 / 2 at 250 customers).

    ### Action Space

    ``Discrete(1 + K * S)`` = ``Discrete(21)``: 0 = no promotion, ``1 + k * 5 + (D - 1)``.

    ### Observation Space

    ``Discrete(1)``: a bandit has no state (always 0, a NumPy int64).

    ### Rewards

    Realised discounted profit of the batch minus its expected baseline profit, times
    ``reward_scale`` (default 1: pounds).

    ### Starting State / Episode End

    No state; truncated after ``horizon`` pulls (default 1,000).

    ### Calibration & References

    Mandania et al. (2025), Journal of Service Research: BG/BB groups, promotions, business
    rules; see the ``mandania2025_ferry`` preset for every calibrated number and assumption.
    ``info`` carries the true expected reward of every arm (``"expected_rewards"``), the
    best arm (``"best_arm"``) and the regret of the pulled arm (``"regret"``; 0 after
    ``reset``, where no arm was pulled), so regret is exact; the task's ``scoring`` is
    ``"regret"``. With ``drift_sd > 0`` these are the means in force for that pull (the
    drift moves them between pulls); after ``reset`` they are the first pull's. Single and
    vector env report the same keys.

    ### Version History

    * v2, issue 18: exact Poisson draws by tabled alias sampling; the normal
      approximation the kernel used for means from 30 up is gone (same caps and spaces,
      see :mod:`~crm_envs.envs.promotion.kernels`); seeded trajectories changed.
      Issue 14: on the shared kernel driver, seeded trajectories unchanged; ``reset``'s
      info now holds every step's keys (the bandit's ``regret`` is 0 there); one env class
      for both ids (``PromotionEnv``, was ``PromotionBanditEnv``), the variant a
      registration kwarg.
    * v1: issue 17. A pull promotes a batch of 1,000 customers (was the whole cohort, whose
      best arm a single pull identified: gap 7.3 s.d.); the recalibrated preset (cohort of
      386,814, gamma-gamma spend, win-back of lapsed customers, rising month effect, survey
      preferences); reward in pounds; 1,000 pulls.
    * v0: initial release.

    ## The campaign (``campaign=True``)

    ### Description

    Each step is a campaign cycle of the ferry agency (Mandania et al. 2025): the action
    assigns an arm (no promotion, or promotion k for D months) to each of the 42 segments (14
    frequency/recency groups x 3 contribution levels) of the whole cohort. The business rule
    couples the segments: 1 (any plan), 2 (one promotion type for all, durations free), 3
    (one arm for all) or 4 (the paper's Figure 8: everyone or no one promoted, type and
    duration free per segment); ``env.unwrapped.allowed(arms)`` checks an action. With a
    ``budget``, a plan's resource (the expected discount on customary sales,
    ``env.unwrapped.task.resource_used(arms)``) must not exceed it. An action that breaks
    the rule or the budget is *rejected*: no segment is promoted that cycle and
    ``info["rejected"]`` is True (``info["over_budget"]`` says whether the budget was the
    reason), or, with ``on_violation="raise"``, it raises. Nothing is silently changed
    otherwise.

    ### Action Space

    ``MultiDiscrete([21] * 42)``; arm coding as in the bandit.

    ### Observation Space

    ``Box(float32, (84,))``: each segment's realised transactions per member, then its
    realised discounted profit per member, in the last cycle (zeros after reset).

    ### Rewards

    Realised profit of all segments minus the expected baseline profit, times
    ``reward_scale`` (default 1e-3: thousands of pounds).

    ### Episode End

    Truncated after ``horizon`` cycles (default 12). ``drift_sd > 0`` lets the true lifts
    drift between cycles: per segment, a log random walk with steps of s.d. ``drift_sd``,
    reflected so that the lift multiplier stays in ``[1 / drift_max, drift_max]`` (default
    2).

    Observations are bounded: each count and profit lies within the largest draw the
    kernel's Poisson sampler can make (see ``PromotionTask._observation_bounds``).

    ### Calibration & References

    Mandania et al. (2025); the ``mandania2025_ferry`` preset. ``info`` holds ``"rejected"``
    and ``"over_budget"`` (single and vector alike); every segment may take every arm on its
    own, so there is no action mask: the rule's coupling is checked by ``allowed``.

    ### Version History

    * v2, issue 18: exact Poisson draws by tabled alias sampling; the normal
      approximation the kernel used for means from 30 up is gone (same caps and spaces,
      see :mod:`~crm_envs.envs.promotion.kernels`); seeded trajectories changed.
      Issue 14: on the shared kernel driver, seeded trajectories unchanged; a copy that
      the vector env autoresets reports ``rejected`` and ``over_budget`` False (no plan
      runs); one env class for both ids (``PromotionEnv(campaign=True)``, was
      ``PromotionCampaignEnv``), the variant a registration kwarg.
    * v1: issue 17. The recalibrated preset (see the bandit); business rule 4; the resource
      budget enforced (``budget``, ``info["over_budget"]``).
    * v0: initial release.

    Args:
        preset: Registered preset name.
        params: Explicit parameters (override ``preset``).
        campaign: False for the bandit (``PromotionBandit-v2``), True for the campaign
            (``PromotionCampaign-v2``).
        segment: Bandit only: ``(group, level)`` to decide for, or None for every segment
            (rule 3).
        batch_size: Bandit only: customers a pull promotes, or None for the whole cohort (or
            segment). Default: 1,000 (bandit), None (campaign).
        rule: Campaign only: business rule 1, 2, 3 or 4. Default: 1 (campaign), 3 (bandit).
        budget: Campaign only: bound on a plan's resource per cycle, or None.
        horizon: Steps per episode. Default: 1,000 pulls (bandit), 12 cycles (campaign).
        drift_sd: Std. deviation of the per-step step of the log lift multipliers.
        drift_max: The lift multipliers stay in ``[1 / drift_max, drift_max]``.
        reward_scale: Multiplier of the profit. Default: 1 (bandit, pounds per pull), 1e-3
            (campaign, thousands of pounds per cycle).
        on_violation: Campaign only: ``"reject"`` or ``"raise"`` for a plan that breaks the
            rule or the budget.
        render_mode: None (no render modes).
    """

    metadata: dict[str, Any] = {"render_modes": []}
    task_cls = PromotionTask

    def __init__(
        self,
        preset: str = "mandania2025_ferry",
        params: PromotionParams | None = None,
        campaign: bool = False,
        segment: tuple[int, int] | None = None,
        batch_size: Any = VARIANT_DEFAULT,
        rule: Any = VARIANT_DEFAULT,
        budget: float | None = None,
        horizon: Any = VARIANT_DEFAULT,
        drift_sd: float = 0.0,
        drift_max: float = 2.0,
        reward_scale: Any = VARIANT_DEFAULT,
        on_violation: str = "reject",
        render_mode: str | None = None,
    ) -> None:
        super().__init__(
            preset=preset, params=params, campaign=campaign, segment=segment,
            batch_size=batch_size, rule=rule, budget=budget, horizon=horizon,
            drift_sd=drift_sd, drift_max=drift_max, reward_scale=reward_scale,
            on_violation=on_violation, render_mode=render_mode,
        )  # fmt: skip

    def allowed(self, arms: Any) -> bool:
        """Whether per-segment ``arms`` (one plan, shape (J,)) obey the business rule.

        The budget aside; the bandit's rule is 3.
        """
        return bool(self._setup.allowed(np.asarray(arms)[None])[0])


class PromotionVectorEnv(TaskVectorEnv):
    """N promotion bandits or campaigns stepped together by one numba kernel.

    Same arguments as :class:`PromotionEnv` (``campaign`` selects the variant); copy ``i``
    reset with ``seed`` behaves as a single env reset with ``seed + i``. Autoreset:
    ``NEXT_STEP``. The step that resets a bandit copy reports the means of its first pull and
    a regret of 0 (no pull is made); the step that resets a campaign copy runs no plan
    (``rejected`` and ``over_budget`` are False).

    Args:
        num_envs: Number of copies N.
        preset, params, campaign, segment, batch_size, rule, budget, horizon, drift_sd,
            drift_max, reward_scale, on_violation: As in :class:`PromotionEnv`.
        copy: Whether returned arrays are new each call (see :mod:`crm_envs.core.vector`).
    """

    task_cls = PromotionTask

    def __init__(
        self,
        num_envs: int = 1,
        preset: str = "mandania2025_ferry",
        params: PromotionParams | None = None,
        campaign: bool = False,
        segment: tuple[int, int] | None = None,
        batch_size: Any = VARIANT_DEFAULT,
        rule: Any = VARIANT_DEFAULT,
        budget: float | None = None,
        horizon: Any = VARIANT_DEFAULT,
        drift_sd: float = 0.0,
        drift_max: float = 2.0,
        reward_scale: Any = VARIANT_DEFAULT,
        on_violation: str = "reject",
        copy: bool = True,
    ) -> None:
        super().__init__(
            num_envs, copy, preset=preset, params=params, campaign=campaign, segment=segment,
            batch_size=batch_size, rule=rule, budget=budget, horizon=horizon,
            drift_sd=drift_sd, drift_max=drift_max, reward_scale=reward_scale,
            on_violation=on_violation,
        )  # fmt: skip

    def allowed(self, arms: Any) -> NDArray[np.bool_]:
        """(N,) whether each row of per-segment arms obeys the business rule."""
        return self._setup.allowed(np.asarray(arms))

"""Every ``gymnasium.register`` call of crm_envs, in one place.

:data:`ENV_INFO` also records each id's source paper and a one-line description, which
``crm-bench envs`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

__all__ = ["ENV_INFO", "EnvInfo", "register_envs"]


@dataclass(frozen=True)
class EnvInfo:
    """Catalogue entry of a registered environment.

    Attributes:
        env_id: The Gymnasium id.
        paper: Short citation of the source paper.
        description: One line on what the environment models.
        entry_point: ``module:Class`` of the single env.
        vector_entry_point: ``module:Class`` of the numba-batched vector env.
        kwargs: Default constructor arguments (JSON-serialisable).
    """

    env_id: str
    paper: str
    description: str
    entry_point: str
    vector_entry_point: str
    kwargs: dict


ENV_INFO: tuple[EnvInfo, ...] = (
    EnvInfo(
        env_id="crm_envs/CustomerJourney-v1",
        paper="Bonaccorso, Customer journeys as Markov Decision Processes",
        description="Touchpoint journey on a 5x15 grid: F2F, email, webinar, conference, "
        "pause; regions; two-discount rewards; at most 10 steps",
        entry_point="crm_envs.envs.customer_journey.env:CustomerJourneyEnv",
        vector_entry_point="crm_envs.envs.customer_journey.env:CustomerJourneyVectorEnv",
        kwargs={"preset": "bonaccorso", "start": "f2f", "horizon": 10},
    ),
    EnvInfo(
        env_id="crm_envs/ROIAllocation-v0",
        paper="Streukens, van Hoesel & de Ruyter (2011), Industrial Marketing Management",
        description="Quarterly investment (Box) in 7 quality drivers: ADBUDG response, "
        "driver->loyalty path model, CMV dynamics, persistence, budget",
        entry_point="crm_envs.envs.roi_allocation.env:ROIAllocationEnv",
        vector_entry_point="crm_envs.envs.roi_allocation.env:ROIAllocationVectorEnv",
        kwargs={"preset": "streukens2011", "horizon": 12},
    ),
    EnvInfo(
        env_id="crm_envs/ROIAllocationDiscrete-v0",
        paper="Streukens, van Hoesel & de Ruyter (2011), Industrial Marketing Management",
        description="ROIAllocation with a Discrete action: one $5,000 increment to one driver "
        "(or nothing) per quarter",
        entry_point="crm_envs.envs.roi_allocation.env:ROIAllocationEnv",
        vector_entry_point="crm_envs.envs.roi_allocation.env:ROIAllocationVectorEnv",
        kwargs={"preset": "streukens2011", "horizon": 12, "discrete": True, "increment": 5000.0},
    ),
    EnvInfo(
        env_id="crm_envs/B2BCustomer-v1",
        paper="Fan (2015), PhD dissertation, Essay 2",
        description="A B2B customer as a POMDP (Table 6's customer A, for whom learning pays): "
        "hidden low/high relationship, monthly spend $0..150, purchase levels as noisy "
        "signals, TSLP, promotions; belief observations",
        entry_point="crm_envs.envs.b2b_customer.env:B2BCustomerEnv",
        vector_entry_point="crm_envs.envs.b2b_customer.env:B2BCustomerVectorEnv",
        kwargs={
            "preset": "fan2015_customer_a",
            "observation": "belief",
            "horizon": 60,
            "reward_scale": 0.001,
        },
    ),
    EnvInfo(
        env_id="crm_envs/B2BCustomerEssay1-v0",
        paper="Fan (2015), PhD dissertation, Essay 1",
        description="Essay 1's two-state example: marketing levels 0..4 at no cost, "
        "purchases rewarded 0/1/2; belief observations; 100 months",
        entry_point="crm_envs.envs.b2b_customer.env:B2BCustomerEnv",
        vector_entry_point="crm_envs.envs.b2b_customer.env:B2BCustomerVectorEnv",
        kwargs={
            "preset": "fan2015_essay1",
            "observation": "belief",
            "horizon": 100,
            "reward_scale": 1.0,
        },
    ),
    EnvInfo(
        env_id="crm_envs/PromotionBandit-v2",
        paper="Mandania, Cadogan, Liu & Kazmi (2025), Journal of Service Research",
        description="Bandit over (promotion, duration) arms; a pull promotes a batch of 1,000 "
        "customers of all segments (rule 3) or of one; noisy realised CLV uplift; true "
        "expected rewards and regret in info",
        entry_point="crm_envs.envs.promotion.env:PromotionEnv",
        vector_entry_point="crm_envs.envs.promotion.env:PromotionVectorEnv",
        kwargs={
            "preset": "mandania2025_ferry",
            "campaign": False,
            "batch_size": 1000.0,
            "horizon": 1000,
        },
    ),
    EnvInfo(
        env_id="crm_envs/PromotionCampaign-v2",
        paper="Mandania, Cadogan, Liu & Kazmi (2025), Journal of Service Research",
        description="Campaign cycles: a (promotion, duration) per segment (MultiDiscrete) "
        "under business rule 1-4 and an optional budget; realised transactions and profit "
        "per segment",
        entry_point="crm_envs.envs.promotion.env:PromotionEnv",
        vector_entry_point="crm_envs.envs.promotion.env:PromotionVectorEnv",
        kwargs={"preset": "mandania2025_ferry", "campaign": True, "rule": 1, "horizon": 12},
    ),
)


def register_envs() -> None:
    """Register every id of :data:`ENV_INFO` with Gymnasium (idempotent)."""
    for info in ENV_INFO:
        if info.env_id in gym.registry:
            continue
        gym.register(
            id=info.env_id,
            entry_point=info.entry_point,
            vector_entry_point=info.vector_entry_point,
            kwargs=dict(info.kwargs),
        )

"""What belongs to a paper rather than to an env: one subpackage per source paper.

The envs (:mod:`crm_envs.envs`) hold what an env needs to run: params, presets, kernels, the
task and its reference planner. Each paper's package holds its analyses: model fits,
experiment simulators, the value-of-learning and portfolio studies, tables, figures,
paper-specific learners and the checks that recompute its published figures
(:mod:`crm_envs.papers.reproduce` collects them for ``crm-bench reproduce``).

* :mod:`crm_envs.papers.fan2015` -- Fan (2015), the B2B customer relationship (``B2BCustomer``).
* :mod:`crm_envs.papers.mandania2025` -- Mandania et al. (2025), promotions valued by CLV
  (``PromotionBandit``, ``PromotionCampaign``).
* :mod:`crm_envs.papers.streukens2011` -- Streukens et al. (2011), return on marketing
  investment across quality drivers (``ROIAllocation``).
* :mod:`crm_envs.papers.bonaccorso` -- Bonaccorso, customer journeys as an MDP
  (``CustomerJourney``).
"""

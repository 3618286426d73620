"""Mandania et al. (2025), promotions valued by CLV (envs PromotionBandit, PromotionCampaign).

S. Mandania, J. W. Cadogan, Y. Liu, A. Kazmi (2025), *Optimizing Promotional Campaigns to
Maximize Customer Lifetime Value: A Dynamic Learning Approach*, Journal of Service Research.
The envs, the BG/BB CLV model, the promotion model and the planner under the business rules
are in :mod:`crm_envs.envs.promotion`; this package holds the paper's analyses:

* :mod:`~crm_envs.papers.mandania2025.learner` -- the paper's learner
  (:class:`~crm_envs.papers.mandania2025.learner.CampaignLearner`): epsilon-greedy plans under
  the business rule, lift estimates updated with a constant rate from the survey's.
* :mod:`~crm_envs.papers.mandania2025.learning_curves` -- the learning-curve study: the true
  value of the learned plan over campaign cycles for several learning and exploration rates,
  and its figure.
* :mod:`~crm_envs.papers.mandania2025.reproduce` -- the published figures recomputed (CLV
  facts, optimal plans under rules 2 and 3).
"""

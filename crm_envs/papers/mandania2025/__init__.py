"""Mandania et al. (2025), promotions valued by CLV (envs PromotionBandit, PromotionCampaign).

S. Mandania, J. W. Cadogan, Y. Liu, A. Kazmi (2025), *Optimizing Promotional Campaigns to
Maximize Customer Lifetime Value: A Dynamic Learning Approach*, Journal of Service Research.
The envs, the BG/BB CLV model, the promotion model and the planner under the business rules
are in :mod:`crm_envs.envs.promotion`; this package holds the paper's analyses:

* :mod:`~crm_envs.papers.mandania2025.learner` -- the paper's learner
  (:class:`~crm_envs.papers.mandania2025.learner.CampaignLearner`): epsilon-greedy plans under
  the business rule, lift estimates updated with a constant rate from the survey's.
* :mod:`~crm_envs.papers.mandania2025.learning_curves` -- Figure 11: the true value of the
  learned plan by campaign cycle from the survey plan, over a grid of learning and
  exploration rates; the survey's gap; cycles to reach 95%.
* :mod:`~crm_envs.papers.mandania2025.bandit` -- how hard each ``PromotionBandit-v2``
  variant is (best-arm gap over reward s.d.).
* :mod:`~crm_envs.papers.mandania2025.transactions` -- a transaction log (customer, date,
  amount) turned into the envs' params: windows, RFM summary, BG/BB and gamma-gamma fits,
  groups; and a simulator of such logs.
* :mod:`~crm_envs.papers.mandania2025.reproduce` -- every surviving fact recomputed, each
  labelled calibrated (and by what) or out of the model.
"""

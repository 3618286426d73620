"""PromotionBandit / PromotionCampaign: promotions valued by CLV (Mandania et al. 2025).

The envs, the BG/BB CLV model, the promotion model and the planner under the business rules.
The paper's campaign learner and learning-curve study are in
:mod:`crm_envs.papers.mandania2025`.
"""

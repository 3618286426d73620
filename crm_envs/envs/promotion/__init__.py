"""PromotionBandit / PromotionCampaign: promotions valued by CLV (Mandania et al. 2025)."""

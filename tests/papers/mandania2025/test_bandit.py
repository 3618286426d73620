"""PromotionBandit-v2's difficulty table (issue 17, point 4)."""

import numpy as np
import pytest

from crm_envs.papers.mandania2025.bandit import NEAR_TIE, bandit_difficulty


def test_difficulty_of_every_variant_is_documented_and_none_is_a_near_tie():
    rows = bandit_difficulty()
    assert len(rows) == 1 + 42 and rows[0].segment is None
    default = rows[0]
    assert default.best_arm == 5 and 0.3 < default.gap_over_sd <= 1.0
    gaps = np.array([r.gap_over_sd for r in rows[1:]]).reshape(14, 3)
    # Everything of a segment scales with its contribution, so the levels are equally hard.
    np.testing.assert_allclose(gaps, gaps[:, :1].repeat(3, axis=1), rtol=1e-9)
    assert gaps.min() > NEAR_TIE and not any(r.near_tie for r in rows)
    # The env docstring's table (rounded to 2 decimals), group by group.
    documented = [0.40, 1.23, 1.69, 3.68, 0.38, 1.52, 4.46, 0.62, 0.44, 5.32, 0.88, 0.63, 1.14,
                  0.86]  # fmt: skip
    np.testing.assert_allclose(gaps[:, 0], documented, atol=0.006)


def test_a_whole_cohort_pull_is_easy_and_bad_batch_sizes_raise():
    assert bandit_difficulty(None)[0].gap_over_sd > 10
    with pytest.raises(ValueError, match="batch_size must"):
        bandit_difficulty(-1.0)

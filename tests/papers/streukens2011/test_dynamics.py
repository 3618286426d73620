"""CMV dynamics: the paper's change-of-CMV forms explode; the env's level reading does not."""

import math

import numpy as np
import pytest

from crm_envs.envs.roi_allocation.presets import get_preset
from crm_envs.papers.streukens2011.dynamics import (
    READINGS,
    env_cmv_paths,
    plot_cmv_paths,
    reading_path,
    spectral_radius,
)

P = get_preset("streukens2011")


def _root(phi1, phi2):
    """Larger root of z^2 = phi1 z + phi2 by the quadratic formula (real roots here)."""
    return (phi1 + math.sqrt(phi1 * phi1 + 4 * phi2)) / 2


def test_the_papers_forms_explode_and_the_envs_does_not():
    table4, eq6, env = READINGS
    # Table 4 with dCMV as dependent variable: CMV_t = 1.30 CMV_(t-1) + 0.64 QUAN_(t-2).
    assert table4.phi == pytest.approx((1.30, 0.64))
    assert (
        spectral_radius(*table4.phi)
        == pytest.approx(_root(1.30, 0.64))
        == pytest.approx(1.68, abs=0.005)
    )
    # Eq. 6: CMV_t = CMV_(t-1) + 0.30 CMV_(t-2) + 0.64 QUAN_(t-1).
    assert spectral_radius(*eq6.phi) == pytest.approx(_root(1.64, 0.30))
    # Even with purchases held fixed both explode.
    assert spectral_radius(*table4.phi_fixed_purchases) == pytest.approx(1.30)
    assert spectral_radius(*eq6.phi_fixed_purchases) == pytest.approx(_root(1.0, 0.30))
    for reading in (table4, eq6):
        assert (
            min(spectral_radius(*reading.phi_fixed_purchases), spectral_radius(*reading.phi)) > 1.2
        )
        assert reading_path(reading.phi, 12)[-1] > 500
    # The env's reading is the preset's AR(2) and is stationary.
    assert env.phi == P.cmv_ar
    assert spectral_radius(*env.phi) == pytest.approx(_root(0.30, 0.64))
    assert spectral_radius(*env.phi) < 1


def test_env_cmv_paths_start_at_the_mean_and_stay_around_it():
    paths = env_cmv_paths(P, horizon=12, n_paths=2000, seed=1)
    assert paths.shape == (2000, 12)
    np.testing.assert_allclose(paths[:, 0], 1.0, atol=1e-6)
    assert paths[:, 1].std() == pytest.approx(P.cmv_noise, rel=0.1)
    se = paths.std(axis=0)[1:] / np.sqrt(2000)
    assert np.all(np.abs(paths.mean(axis=0)[1:] - 1.0) < 4 * se)
    # Same seed, same paths.
    np.testing.assert_array_equal(paths, env_cmv_paths(P, horizon=12, n_paths=2000, seed=1))


def test_plot_cmv_paths_draws_both_panels():
    fig = plot_cmv_paths(P, horizon=6, n_paths=50)
    assert len(fig.axes) == 2
    assert len(fig.axes[1].lines) == 3

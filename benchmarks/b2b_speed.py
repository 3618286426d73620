"""Speed of Fan (2015)'s four Table 6 customers: both planners solved and VOL evaluated exactly.

Issue 19's target: the four customers' POMDP and HMM planners plus the exact value of
learning at 60 months (:func:`crm_envs.papers.fan2015.value_of_learning.exact_value_of_learning`)
in at most 10 s on the 2-core reference machine. Run ``python -m benchmarks.b2b_speed``.
"""

from __future__ import annotations

import time

__all__ = ["table6_speed"]


def table6_speed(months: int = 60, repeats: int = 3) -> float:
    """Best wall time in seconds of solving and evaluating the four customers (after a warm-up).

    Args:
        months: Horizon of the exact evaluation (Table 6: 60).
        repeats: Timed repetitions; the fastest is returned (compilation excluded).
    """
    from crm_envs.envs.b2b_customer.presets import get_preset
    from crm_envs.papers.fan2015.value_of_learning import exact_value_of_learning

    customers = [get_preset(f"fan2015_customer_{c}") for c in "abcd"]
    exact_value_of_learning(customers[0], months)  # compile
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for p in customers:
            exact_value_of_learning(p, months)
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    print(f"four Table 6 customers, planners + exact VOL at 60 months: {table6_speed():.3f} s")

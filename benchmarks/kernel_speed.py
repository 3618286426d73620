"""Where the time of a vector env step goes: the numba kernel against the Python around it.

For each id (default: every registered one), the vector env's ``step`` is timed at N copies,
and so is the time spent inside its compiled driver (the step entry point the vector env
calls, timed by a wrapper). The difference is the Python around it: action
validation, info dicts, copies and anything done with NumPy outside the kernel.
Times are CPU time of this process (``time.process_time``), not wall time, so that other
processes on a shared machine disturb them less; with several numba threads they add up the
threads' CPU time. Set ``NUMBA_NUM_THREADS=1`` for a comparison that does not depend on the
other cores' load.

Run: ``python benchmarks/kernel_speed.py [--envs ID ...] [--n N] [--steps S] [--copy 0|1]``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import gymnasium as gym
import numpy as np

import crm_envs  # noqa: F401  (registers the ids)
from crm_envs.registration import ENV_INFO

DEFAULT_IDS = tuple(info.env_id for info in ENV_INFO)
"""Every registered id: all run on the shared driver (``tests/core/test_kernels.py``)."""


def _timed(fn: Any, spent: list[float]) -> Any:
    """``fn``, adding the CPU time of each call to ``spent[0]``."""

    def timed(*args: Any) -> Any:
        t0 = time.process_time()
        out = fn(*args)
        spent[0] += time.process_time() - t0
        return out

    return timed


def profile(env_id: str, n: int, steps: int, copy: bool, repeats: int = 3) -> dict[str, float]:
    """CPU ns per env-step of the whole ``step`` and of the kernel inside it (best of repeats)."""
    spent = [0.0]
    env = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", copy=copy)
    venv = env.unwrapped
    compiled = venv._compiled  # the driver's entry point for a call; timed when it steps

    def timed_compiled(kernel: Any, act: Any = None) -> Any:
        entry = compiled(kernel, act)
        return entry if act is None else _timed(entry, spent)

    venv._compiled = timed_compiled
    env.action_space.seed(0)
    batches = [env.action_space.sample() for _ in range(4)]
    env.reset(seed=0)
    env.step(batches[0])
    best_total, best_kernel = np.inf, np.inf
    for _ in range(repeats):
        spent[0] = 0.0
        t0 = time.process_time()
        for i in range(steps):
            env.step(batches[i % 4])
        total = time.process_time() - t0
        if total < best_total:
            best_total, best_kernel = total, spent[0]
    env.close()
    scale = 1e9 / (steps * n)
    return {"total": best_total * scale, "kernel": best_kernel * scale}


def main() -> None:
    """Print a Markdown table of ns per env-step: total, kernel and Python wrapper."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--envs", nargs="+", default=list(DEFAULT_IDS))
    ap.add_argument("--n", type=int, default=65_536)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--copy", type=int, default=1)
    args = ap.parse_args()
    print(f"load {os.getloadavg()}, NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS')}, "
          f"N={args.n}, copy={bool(args.copy)}")  # fmt: skip
    print("| env | total ns | kernel ns | wrapper ns |\n|---|---:|---:|---:|")
    for env_id in args.envs:
        r = profile(env_id, args.n, args.steps, bool(args.copy))
        print(f"| {env_id} | {r['total']:.1f} | {r['kernel']:.1f} | "
              f"{r['total'] - r['kernel']:.1f} |")  # fmt: skip
    print(f"load {os.getloadavg()}")


if __name__ == "__main__":
    main()

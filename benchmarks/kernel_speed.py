"""Where the time of a vector env step goes: the numba kernel against the Python around it.

For each id (default: every registered one), the vector env's ``step`` is timed at N copies,
and so is the time spent inside its compiled driver (the step entry point the vector env
calls, timed by a wrapper). The difference is the Python around it: action
validation, info dicts, copies and anything done with NumPy outside the kernel.

The ``floor`` column is what the kernel's data alone costs: :func:`touch_floor`, a parallel
numba loop over the copies that reads and writes every entry of the arrays the env's kernel is
called with (its state, the validated actions, observations, rewards, flags and info arrays),
with one random draw and no model arithmetic. It is a reference cost rather than a strict
bound (a kernel may leave some entries alone on some steps), but a target well below it needs
another layout, not a faster model.
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
from numba import njit, prange

import crm_envs  # noqa: F401  (registers the ids)
from crm_envs.core.kernels import CTR, KEY
from crm_envs.core.rng import splitmix_uniform
from crm_envs.registration import ENV_INFO

DEFAULT_IDS = tuple(info.env_id for info in ENV_INFO)
"""Every registered id: all run on the shared driver (``tests/core/test_kernels.py``)."""

MAX_EXTRA = 4
"""Most info arrays :func:`touch_floor` takes (B2BCustomer declares four)."""


_TOUCH: dict[tuple[int, ...], Any] = {}


def _touch_kernel(widths: tuple[int, ...]) -> Any:
    """The floor loop for rows of these widths, compiled with the widths as constants.

    ``widths`` are the columns of the float state, the int state, the actions, the observations
    and the :data:`MAX_EXTRA` info arrays. As constants they let the compiler unroll every
    loop over a row, so the loop costs what its loads and stores cost: with the widths read
    from the arrays, the same loop took CustomerJourney 2.5 times as long.
    """
    found = _TOUCH.get(widths)
    if found is not None:
        return found
    nf, ni, na, no, w0, w1, w2, w3 = widths

    @njit(inline="always")
    def fill(out, i, s, width):  # pragma: no cover - compiled by numba
        for j in range(width):
            out[i, j] = s

    @njit(parallel=True)
    def touch(fstate, istate, actions, obs, rew, term, trunc, e0, e1, e2, e3):  # pragma: no cover
        for i in prange(istate.shape[0]):
            s = 0.0
            for j in range(nf):
                s += fstate[i, j]
            for j in range(ni + KEY):  # every column before the key and counter
                s += istate[i, j]
            for j in range(na):
                s += actions[i, j]
            s += splitmix_uniform(istate[i, KEY], istate[i, CTR])
            istate[i, CTR] += 1
            for j in range(nf):
                fstate[i, j] = s
            for j in range(ni + KEY):  # every int-state column but the key (and the counter)
                istate[i, j] += 1
            for j in range(no):
                obs[i, j] = s
            rew[i] = s
            term[i] = s > 1e300
            trunc[i] = s < -1e300
            fill(e0, i, s, w0)
            fill(e1, i, s, w1)
            fill(e2, i, s, w2)
            fill(e3, i, s, w3)

    _TOUCH[widths] = touch
    return touch


def touch_floor(args: tuple[Any, ...]) -> Any:
    """A callable that reads and writes the arrays of one driver step call, and nothing else.

    Per copy it sums the state (but the key and counter) and the action, draws one uniform from
    the copy's stream, then writes that number into every float-state, observation, reward,
    flag and info entry, and adds one to every int-state column but the key.

    Args:
        args: ``(kp, fstate, istate, actions, obs, rew, term, trunc, extra)`` as the vector
            env passes them to its compiled step.

    Returns:
        A function of no arguments that touches those arrays once (the state is changed).
    """
    _, fstate, istate, actions, obs, rew, term, trunc, extra = args
    n = istate.shape[0]
    if len(extra) > MAX_EXTRA:
        raise ValueError(f"touch_floor takes at most {MAX_EXTRA} info arrays, got {len(extra)}")
    rows = [np.asarray(e).reshape(n, -1) for e in extra]
    rows += [np.zeros((n, 0))] * (MAX_EXTRA - len(rows))
    flat = (fstate, istate, actions.reshape(n, -1), obs.reshape(n, -1), rew, term, trunc, *rows)
    widths = tuple(a.shape[1] for a in flat[:4]) + tuple(r.shape[1] for r in rows)
    kernel = _touch_kernel(widths)
    return lambda: kernel(*flat)


def _timed(fn: Any, spent: list[float], last: list[Any]) -> Any:
    """``fn``, adding the CPU time of each call to ``spent[0]`` and keeping its arguments."""

    def timed(*args: Any) -> Any:
        last[:] = [args]
        t0 = time.process_time()
        out = fn(*args)
        spent[0] += time.process_time() - t0
        return out

    return timed


def profile(env_id: str, n: int, steps: int, copy: bool, repeats: int = 3) -> dict[str, float]:
    """CPU ns per env-step: the whole ``step``, the kernel inside it and the data floor.

    Each is the best of ``repeats`` runs of ``steps`` steps; ``floor`` is :func:`touch_floor`
    on the arrays of the kernel's last call.
    """
    spent = [0.0]
    last: list[Any] = []
    env = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", copy=copy)
    venv = env.unwrapped
    compiled = venv._compiled  # the driver's entry point for a call; timed when it steps

    def timed_compiled(kernel: Any, act: Any = None) -> Any:
        entry = compiled(kernel, act)
        return entry if act is None else _timed(entry, spent, last)

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
    touch = touch_floor(last[0])
    touch()  # compiles for these array types
    best_floor = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(steps):
            touch()
        best_floor = min(best_floor, time.process_time() - t0)
    env.close()
    scale = 1e9 / (steps * n)
    return {"total": best_total * scale, "kernel": best_kernel * scale, "floor": best_floor * scale}


def main() -> None:
    """Print a Markdown table of CPU ns per env-step: total, kernel, wrapper and data floor."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--envs", nargs="+", default=list(DEFAULT_IDS))
    ap.add_argument("--n", type=int, default=65_536)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--copy", type=int, default=1)
    args = ap.parse_args()
    print(f"load {os.getloadavg()}, NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS')}, "
          f"N={args.n}, copy={bool(args.copy)}")  # fmt: skip
    print("| env | total ns | kernel ns | wrapper ns | floor ns |\n|---|---:|---:|---:|---:|")
    for env_id in args.envs:
        r = profile(env_id, args.n, args.steps, bool(args.copy))
        print(f"| {env_id} | {r['total']:.1f} | {r['kernel']:.1f} | "
              f"{r['total'] - r['kernel']:.1f} | {r['floor']:.1f} |")  # fmt: skip
    print(f"load {os.getloadavg()}")


if __name__ == "__main__":
    main()

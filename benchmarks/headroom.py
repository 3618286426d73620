"""``crm-bench headroom``: each env's reference against its naive baselines, in standard errors.

For every id the task declares a reference (exact, planner or heuristic) and naive baselines
(:mod:`crm_envs.core.oracle`). This module resolves an exact reference with
:func:`agents.dp.exact_policy`, evaluates every policy on the same episode seeds, and reports
mean +- s.e. of each, the gap between the reference and the best naive policy in standard
errors, and the episodes needed to separate them at 2 s.e. It is the one place the harness,
the CLI and the SB3 runner get the reference from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym

from crm_envs.core.oracle import Exact, Headroom, Policy, headroom

__all__ = [
    "baseline_policies",
    "headroom_table",
    "measure",
    "plot_headroom",
    "reference_policy",
]


def _resolve(policy: Policy | Exact) -> Policy:
    if isinstance(policy, Exact):
        from agents.dp import exact_policy

        return exact_policy(policy)
    return policy


def reference_policy(env: gym.Env) -> tuple[Policy, str]:
    """The env's declared reference as a playable policy, and its kind.

    Args:
        env: Any env of a registered id (wrapped or not).

    Returns:
        ``(policy, kind)`` with kind ``"exact"``, ``"planner"`` or ``"heuristic"``.
    """
    ref = env.unwrapped.task.oracle()
    return _resolve(ref if isinstance(ref, Exact) else ref.policy), ref.kind


def baseline_policies(env: gym.Env, seed: int) -> list[tuple[str, Policy]]:
    """The env's declared baselines as playable ``(role, policy)`` pairs.

    Args:
        env: Any env of a registered id.
        seed: Seed of the random baseline.

    Returns:
        The pairs, in the task's order.
    """
    return [(role, _resolve(p)) for role, p in env.unwrapped.task.baselines(seed)]


def measure(
    env_id: str,
    episodes: int = 200,
    seed: int = 0,
    kwargs: dict[str, Any] | None = None,
    progress_bar: bool = False,
) -> Headroom:
    """Evaluate the reference and every baseline of ``env_id`` on common episode seeds.

    Args:
        env_id: A registered id.
        episodes: Episodes per policy (>= 2).
        seed: Seed of the first episode (and of the random baseline).
        kwargs: Extra ``gym.make`` kwargs (a variant).
        progress_bar: Show a bar over the policies.

    Returns:
        The :class:`~crm_envs.core.oracle.Headroom`.
    """
    env = gym.make(env_id, **dict(kwargs or {}))
    policy, kind = reference_policy(env)
    return headroom(env_id, policy, kind, baseline_policies(env, seed), episodes, seed, kwargs,
                    progress_bar)  # fmt: skip


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:,.1f}"


def headroom_table(results: Sequence[Headroom]) -> str:
    """Markdown: per id, each policy's mean +- s.e., the gap in s.e., episodes to separate.

    Args:
        results: One :class:`Headroom` per env configuration.

    Returns:
        The table (one block per configuration).
    """
    lines = []
    for h in results:
        best = h.best_naive
        title = h.env_id + "".join(f", {k}={v}" for k, v in h.kwargs.items())
        lines += [
            f"### `{title}`",
            "",
            f"Reference: {h.reference_kind}. Episodes per policy: {h.episodes}. Gap over the "
            f"best naive policy ({best.name}): {h.gap:,.4g} = {_fmt(h.gap_in_se)} s.e.; "
            f"episodes to separate at 2 s.e.: {_fmt(h.episodes_to_separate())}.",
            "",
            "| role | policy | mean return | s.e. |",
            "|---|---|---:|---:|",
        ]
        best_constant = h.by_role("constant")
        shown = [r for r in h.results if r.role != "constant"]
        if best_constant is not None:
            shown.insert(2, best_constant)
        for r in shown:
            role = "best constant" if r.role == "constant" else r.role
            lines.append(f"| {role} | {r.name} | {r.mean:,.4g} | {r.se:,.3g} |")
        lines.append("")
    return "\n".join(lines)


def plot_headroom(results: Sequence[Headroom], path: str | Path) -> Path:
    """Bar chart of every configuration's policies, normalised: random = 0, reference = 1.

    Error bars are 2 s.e. (scaled like the means).

    Args:
        results: One :class:`Headroom` per env configuration.
        path: Image file to write (its suffix picks the format).

    Returns:
        The path written.
    """
    import matplotlib.pyplot as plt

    roles = ("random", "constant", "naive", "reference", "oracle")
    colours = dict(zip(roles, ("#bbbbbb", "#8da0cb", "#fc8d62", "#66c2a5", "#e78ac3"), strict=True))
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.55 * len(results) * 2))
    y = 0.0
    ticks, labels = [], []
    labelled: set[str] = set()
    for h in results:
        rand, ref = h.by_role("random"), h.by_role("reference")
        scale = ref.mean - rand.mean  # type: ignore[union-attr]
        for k, role in enumerate(roles):
            r = h.by_role(role)
            if r is None or scale == 0:
                continue
            ax.barh(y + 0.15 * k, (r.mean - rand.mean) / scale, height=0.14,  # type: ignore[union-attr]
                    xerr=2 * r.se / abs(scale), color=colours[role],
                    label=None if role in labelled else role)  # fmt: skip
            labelled.add(role)
        ticks.append(y + 0.3)
        labels.append(
            h.env_id.split("/")[-1] + f"\n{h.reference_kind}, gap {_fmt(h.gap_in_se)} s.e."
        )
        y += 1.0
    ax.set_yticks(ticks, labels, fontsize=8)
    ax.axvline(0, color="k", lw=0.5)
    ax.axvline(1, color="k", lw=0.5, ls="--")
    ax.set_xlabel("normalised return (random = 0, reference = 1), 2 s.e. bars")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(roles), fontsize=8)
    ax.invert_yaxis()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

"""The paper's policy figure (Bonaccorso): each cell's type, value and best move."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from crm_envs.envs.customer_journey.params import CELL_LETTERS, MOVES, TYPE_NAMES
from crm_envs.envs.customer_journey.presets import BONACCORSO_LAYOUT
from crm_envs.envs.customer_journey.render import TYPE_COLOURS

__all__ = ["plot_policy"]


def plot_policy(
    values: ArrayLike,
    policy: ArrayLike,
    layout: tuple[str, ...] | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Draw the paper's policy figure: each cell's type, value and an arrow for the best move.

    Args:
        values: (rows, cols) value of each cell (e.g. the optimal value at t = 0).
        policy: (rows, cols) best action of each cell (0 up, 1 right, 2 down, 3 left);
            terminal cells get no arrow.
        layout: Grid rows of cell letters (default: the ``bonaccorso`` preset's grid).
        ax: A matplotlib Axes to draw on (default: a new figure).
        title: Optional title.

    Returns:
        The matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    if layout is None:
        layout = BONACCORSO_LAYOUT
    v = np.asarray(values, dtype=float)
    pi = np.asarray(policy)
    shape = (len(layout), len(layout[0]))
    for name, arr in (("values", v), ("policy", pi)):
        if arr.shape != shape:
            raise ValueError(f"{name} must have the grid's shape {shape}, got {arr.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.9 * shape[1] + 1, 0.9 * shape[0] + 1))
    types = np.array([[CELL_LETTERS.index(ch) for ch in r] for r in layout])
    ax.imshow(TYPE_COLOURS[types], alpha=0.45, interpolation="nearest")
    for r in range(shape[0]):
        for c in range(shape[1]):
            ch = layout[r][c]
            ax.text(c, r - 0.28, ch, ha="center", va="center", fontsize=9, weight="bold")
            ax.text(c, r + 0.3, f"{v[r, c]:.2f}", ha="center", va="center", fontsize=7)
            if ch not in "SX":
                dr, dc = MOVES[int(pi[r, c])]
                ax.annotate(
                    "",
                    xy=(c + 0.32 * dc, r + 0.32 * dr + 0.02),
                    xytext=(c - 0.05 * dc, r - 0.05 * dr + 0.02),
                    arrowprops={"arrowstyle": "->", "lw": 1.2},
                )
    ax.set_xticks(range(shape[1]))
    ax.set_yticks(range(shape[0]))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(title or "Optimal journey policy (letter: touchpoint, number: value)")
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=TYPE_COLOURS[i] / 255, alpha=0.45)
        for i in range(len(CELL_LETTERS))
    ]
    ax.legend(
        handles,
        TYPE_NAMES,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=4,
        fontsize=7,
        frameon=False,
    )
    return ax

"""Text and image renderings of a journey grid, and the paper's policy figure."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crm_envs.envs.customer_journey.params import CELL_LETTERS, MOVES, TYPE_NAMES

__all__ = ["TYPE_COLOURS", "plot_policy", "render_ansi", "render_rgb"]

#: RGB colour of each touchpoint type, in ``CELL_LETTERS`` order.
TYPE_COLOURS = np.array(
    [
        (66, 133, 244),  # F2F call: blue
        (251, 188, 5),  # email: yellow
        (52, 168, 83),  # webinar: green
        (171, 71, 188),  # conference: purple
        (200, 200, 200),  # pause: grey
        (0, 120, 0),  # success: dark green
        (200, 30, 30),  # failure: red
    ],
    dtype=np.uint8,
)


def render_ansi(layout: tuple[str, ...], row: int, col: int) -> str:
    """Text grid with each cell's letter and the current cell in brackets.

    Args:
        layout: Grid rows of cell letters.
        row: Current row.
        col: Current column.

    Returns:
        A multi-line string.
    """
    lines = []
    for r, letters in enumerate(layout):
        cells = [f"[{ch}]" if (r, c) == (row, col) else f" {ch} " for c, ch in enumerate(letters)]
        lines.append("".join(cells))
    legend = "  ".join(f"{ch}={name}" for ch, name in zip(CELL_LETTERS, TYPE_NAMES, strict=True))
    return "\n".join(lines) + "\n" + legend + "\n"


def render_rgb(layout: tuple[str, ...], row: int, col: int, cell_px: int = 24) -> NDArray[np.uint8]:
    """RGB image: cells coloured by touchpoint type, the current cell framed in black.

    Args:
        layout: Grid rows of cell letters.
        row: Current row.
        col: Current column.
        cell_px: Side of one cell in pixels.

    Returns:
        (rows * cell_px, cols * cell_px, 3) uint8 array.
    """
    types = np.array([[CELL_LETTERS.index(ch) for ch in r] for r in layout])
    img = TYPE_COLOURS[types].repeat(cell_px, axis=0).repeat(cell_px, axis=1)
    img[::cell_px, :] = 255
    img[:, ::cell_px] = 255
    b = max(2, cell_px // 8)
    y0, x0 = row * cell_px, col * cell_px
    img[y0 : y0 + cell_px, x0 : x0 + b] = 0
    img[y0 : y0 + cell_px, x0 + cell_px - b : x0 + cell_px] = 0
    img[y0 : y0 + b, x0 : x0 + cell_px] = 0
    img[y0 + cell_px - b : y0 + cell_px, x0 : x0 + cell_px] = 0
    return np.ascontiguousarray(img)


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
        from crm_envs.envs.customer_journey.presets import BONACCORSO_LAYOUT

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

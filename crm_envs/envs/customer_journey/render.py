"""Text and image renderings of a journey grid."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from crm_envs.envs.customer_journey.params import CELL_LETTERS, TYPE_NAMES

__all__ = ["TYPE_COLOURS", "render_ansi", "render_rgb"]

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

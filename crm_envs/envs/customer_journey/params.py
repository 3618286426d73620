"""Parameters of the CustomerJourney MDP (Bonaccorso, *Customer journeys as MDPs*).

The journey is a grid of touchpoint cells. An action names the neighbouring cell to visit next
(up, right, down, left). The intended move succeeds with probability ``p_intended`` of the
customer's region, otherwise the journey slips to one of the other valid neighbours, uniformly.
Moving into a success or failure cell ends the journey. A move off the grid is *invalid*: the
journey stays in its cell, the step counts, and the sales rep's reward is
``invalid_move_reward`` (no constraint reward, no slip).

Rewards follow the paper's two-discount return: at step ``t`` (0-based) the reward is
``lambda_env**t * rho + lambda_con**t * M`` where ``rho = env_reward[region, from, to]`` is the
sales rep's feedback on the (from type, to type) transition, on the paper's (-5, 5) scale, and
``M = con_reward[region, from, to]`` is the marketing department's constraint reward.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.params import (
    check_array,
    check_int,
    check_prob,
    check_prob_vector,
    check_range_array,
    check_scalar,
)

__all__ = [
    "ACTION_NAMES",
    "CELL_LETTERS",
    "MOVES",
    "TYPE_NAMES",
    "CustomerJourneyParams",
    "JourneyKernelParams",
    "cell_records",
    "reward_table",
    "shaped_reward_table",
]

#: One letter per touchpoint type, in type-index order.
CELL_LETTERS = "FEWCPSX"
#: Human-readable touchpoint type names, in type-index order.
TYPE_NAMES = (
    "F2F call",
    "email/newsletter",
    "webinar invitation",
    "conference invitation",
    "pause (wait 15 days)",
    "success",
    "failure",
)
F2F, EMAIL, WEBINAR, CONFERENCE, PAUSE, SUCCESS, FAILURE = range(7)
N_TYPES = len(CELL_LETTERS)
#: Action index -> (row offset, column offset).
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
#: Action index -> name.
ACTION_NAMES = ("up", "right", "down", "left")
N_ACTIONS = len(MOVES)
REWARD_BOUND = 5.0


# The fields of a packed cell record (:func:`cell_records`), lowest bits first.
#: Bits of the cell's index (the lowest bits of a record).
CELL_BITS = 24
#: First bit of the cell's grid row.
ROW_SHIFT = 24
#: First bit of the cell's grid column.
COL_SHIFT = 36
#: Bits of the grid row and of the grid column.
COORD_BITS = 12
#: Bit of the terminal flag (1 for success and failure cells).
TERMINAL_SHIFT = 48
#: Bit of move 0's action-mask entry; move ``a``'s is ``MASK_SHIFT + a``.
MASK_SHIFT = 49


class JourneyKernelParams(NamedTuple):
    """Arrays the numba kernels read (built by :meth:`CustomerJourneyParams.to_kernel`).

    Every (region, cell, action) has up to M possible outcomes; the tables are padded so that
    the kernel needs no branch on validity: an invalid move has the single outcome "stay" with
    the invalid-move reward.

    The outcome tables are flat: row ``(region * N + cell) * A + action``. What the kernel needs
    of an outcome's cell (its index, its grid position, whether it ends the journey,
    its action mask) is packed into one int64, the cell's record (:func:`cell_records`), so
    that a step reads one entry where it read five tables (issue 18: at 65,536 copies the
    step's kernel went from 5.3-5.5 to 4.6-4.7 ns per env-step).

    Attributes:
        thresholds: (K*N*A, M - 1) int64: ``ceil(2**53 * P(outcome <= q))`` for the first M - 1
            outcomes (padded with ``2**53``). The outcome of a step is the number of thresholds
            at or below the step's uniform as a 53-bit integer
            (:func:`~crm_envs.core.rng.splitmix_bits`), which is the number of cumulative
            probabilities at or below the uniform itself: the same draw, without the float.
        outcome: (K*N*A, M) int64 record of each outcome's cell.
        value: (K*N*A, M, 2) undiscounted (sales-rep reward, constraint reward) of each outcome.
        cell_record: (N,) int64 record of each cell (starts read it).
        env_discount: (H,) ``lambda_env**t``.
        con_discount: (H,) ``lambda_con**t``.
        region_cum: (K,) cumulative region probabilities at reset.
        start_cells: (n,) cells a journey may start in (uniform).
        horizon: Maximum journey length H.
    """

    thresholds: NDArray[np.int64]
    outcome: NDArray[np.int64]
    value: NDArray[np.float64]
    cell_record: NDArray[np.int64]
    env_discount: NDArray[np.float64]
    con_discount: NDArray[np.float64]
    region_cum: NDArray[np.float64]
    start_cells: NDArray[np.int64]
    horizon: int


def cell_records(
    cell_row: NDArray[np.int64],
    cell_col: NDArray[np.int64],
    terminal: NDArray[np.int64],
    valid: NDArray[np.int8],
) -> NDArray[np.int64]:
    """The packed record of every cell: an (N,) int64 array.

    Bits (constants above): the cell's index from 0, its grid row from :data:`ROW_SHIFT` and
    column from :data:`COL_SHIFT`, its terminal flag at :data:`TERMINAL_SHIFT`, and move
    ``a``'s mask bit at ``MASK_SHIFT + a``.

    Args:
        cell_row: (N,) grid row of each cell.
        cell_col: (N,) grid column of each cell.
        terminal: (N,) 1 for success and failure cells, else 0.
        valid: (N, A) int8 action mask of each cell (1 = the move stays on the grid).

    Returns:
        The (N,) records.

    Raises:
        ValueError: If the grid is too large for the fields (4,096 or more rows or columns).
    """
    n, n_act = valid.shape
    if max(cell_row.max(), cell_col.max()) >= 2**COORD_BITS:
        raise ValueError(
            f"a grid with {cell_row.max() + 1} rows and {cell_col.max() + 1} columns is too "
            f"large for the journey kernel's packed cell records (fewer than {2**COORD_BITS} "
            "rows and columns)"
        )
    mask = (valid.astype(np.int64) << (MASK_SHIFT + np.arange(n_act))).sum(axis=1)
    cells = np.arange(n, dtype=np.int64)
    coords = (cell_row << ROW_SHIFT) | (cell_col << COL_SHIFT)
    return cells | coords | (terminal.astype(np.int64) << TERMINAL_SHIFT) | mask


@dataclass(frozen=True, kw_only=True, eq=False)
class CustomerJourneyParams:
    """Every number of the CustomerJourney model (Bonaccorso; see the module docstring).

    Attributes:
        layout: Grid rows as strings of cell letters: ``F`` F2F call, ``E`` email/newsletter,
            ``W`` webinar invitation, ``C`` conference invitation, ``P`` pause (wait 15 days),
            ``S`` success (terminal), ``X`` failure (terminal). All rows have equal length and
            at least one ``S`` is required.
        region_names: One name per region (environment variant, the paper's indicator).
        p_intended: Per region, the probability in [0, 1] that the intended move happens.
        env_reward: (K, 7, 7) sales-rep reward rho by (from type, to type), each in [-5, 5].
        con_reward: (K, 7, 7) marketing-department constraint reward M, each in [-5, 5].
        invalid_move_reward: Sales-rep reward of a move off the grid, in [-5, 5].
        lambda_env: Discount of the sales-rep rewards, in [0, 1] (paper: 0.75).
        lambda_con: Discount of the constraint rewards, in [0, 1] (paper: 0.15).
        region_probs: Probability of each region when a reset does not choose one
            (None = uniform).
        start_cell: (row, col) of the journey's first touchpoint for ``start="f2f"``.
        transition_probs: Optional (K, N, A, N) table ``P[region, cell, action, next cell]``
            that replaces the slip rule (``fit_journey_model`` returns one). Rows of valid
            moves may only put mass on grid neighbours or the cell itself; invalid moves always
            stay (their rows are ignored).
    """

    layout: tuple[str, ...]
    region_names: tuple[str, ...]
    p_intended: tuple[float, ...]
    env_reward: NDArray[np.float64]
    con_reward: NDArray[np.float64]
    invalid_move_reward: float = -1.0
    lambda_env: float = 0.75
    lambda_con: float = 0.15
    region_probs: tuple[float, ...] | None = None
    start_cell: tuple[int, int] = (0, 0)
    transition_probs: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        layout = self.layout
        if isinstance(layout, str) or not all(isinstance(r, str) for r in layout):
            raise TypeError(f"layout must be a sequence of row strings, got {layout!r}")
        layout = tuple(layout)
        if not layout or not layout[0]:
            raise ValueError("layout must have at least one row and one column")
        widths = {len(r) for r in layout}
        if len(widths) != 1:
            raise ValueError(f"layout rows must have equal length, got lengths {sorted(widths)}")
        for i, row in enumerate(layout):
            for j, ch in enumerate(row):
                if ch not in CELL_LETTERS:
                    legend = ", ".join(
                        f"{c}={n}" for c, n in zip(CELL_LETTERS, TYPE_NAMES, strict=True)
                    )
                    raise ValueError(
                        f"layout cell ({i}, {j}) has unknown letter {ch!r}; allowed: {legend}"
                    )
        if not any("S" in r for r in layout):
            raise ValueError("layout must contain at least one success cell 'S'")
        set_(self, "layout", layout)

        names = tuple(self.region_names)
        if not names:
            raise ValueError("region_names must name at least one region")
        set_(self, "region_names", names)
        k = len(names)
        p_int = tuple(self.p_intended)
        if len(p_int) != k:
            raise ValueError(f"p_intended must have one entry per region ({k}), got {len(p_int)}")
        set_(
            self,
            "p_intended",
            tuple(check_prob(f"p_intended[{i}]", p) for i, p in enumerate(p_int)),
        )
        for field in ("env_reward", "con_reward"):
            arr = check_array(field, getattr(self, field), shape=(k, N_TYPES, N_TYPES))
            check_range_array(field, arr, -REWARD_BOUND, REWARD_BOUND)
            set_(self, field, arr)
        check_scalar("invalid_move_reward", self.invalid_move_reward, low=-5.0, high=5.0)
        check_scalar("lambda_env", self.lambda_env, low=0.0, high=1.0)
        check_scalar("lambda_con", self.lambda_con, low=0.0, high=1.0)
        if self.region_probs is not None:
            rp = check_array("region_probs", self.region_probs, shape=(k,))
            check_prob_vector("region_probs", rp)
            set_(self, "region_probs", tuple(float(x) for x in rp))
        if not isinstance(self.start_cell, (tuple, list)) or len(self.start_cell) != 2:
            raise TypeError(f"start_cell must be a (row, col) pair, got {self.start_cell!r}")
        r0 = check_int("start_cell[0]", self.start_cell[0], low=0, high=self.n_rows - 1)
        c0 = check_int("start_cell[1]", self.start_cell[1], low=0, high=self.n_cols - 1)
        if layout[r0][c0] in "SX":
            raise ValueError(f"start_cell {(r0, c0)} is a terminal cell; choose a touchpoint")
        set_(self, "start_cell", (r0, c0))
        if self.transition_probs is not None:
            n = self.n_cells
            tp = check_array("transition_probs", self.transition_probs, shape=(k, n, N_ACTIONS, n))
            valid = self.valid_moves.astype(bool)
            check_prob_vector("transition_probs", tp[:, valid])
            allowed = self._support_mask()
            leak = np.argwhere((tp > 0) & ~allowed & valid[None, :, :, None])
            if leak.size:
                kk, s, a, s2 = (int(x) for x in leak[0])
                raise ValueError(
                    f"transition_probs[{kk}, {s}, {a}, {s2}] = {tp[kk, s, a, s2]} moves from cell "
                    f"{self.cell_rc(s)} to {self.cell_rc(s2)}, which is not a neighbour or itself"
                )
            set_(self, "transition_probs", tp)

    # ----------------------------------------------------------------- derived quantities
    @property
    def n_rows(self) -> int:
        """Grid height."""
        return len(self.layout)

    @property
    def n_cols(self) -> int:
        """Grid width."""
        return len(self.layout[0])

    @property
    def n_cells(self) -> int:
        """Number of cells N = rows x cols (cell index = row * n_cols + col)."""
        return self.n_rows * self.n_cols

    @property
    def n_regions(self) -> int:
        """Number of regions K."""
        return len(self.region_names)

    def cell_rc(self, cell: int) -> tuple[int, int]:
        """(row, col) of a cell index."""
        return divmod(int(cell), self.n_cols)

    @property
    def cell_types(self) -> NDArray[np.int64]:
        """(N,) type index of every cell (index into ``CELL_LETTERS``)."""
        return np.array([CELL_LETTERS.index(ch) for row in self.layout for ch in row], np.int64)

    @property
    def terminal_cells(self) -> NDArray[np.bool_]:
        """(N,) True for success and failure cells."""
        t = self.cell_types
        return (t == SUCCESS) | (t == FAILURE)

    @property
    def valid_moves(self) -> NDArray[np.int8]:
        """(N, A) 1 where the move stays on the grid: the action mask of each cell."""
        out = np.zeros((self.n_cells, N_ACTIONS), np.int8)
        for cell in range(self.n_cells):
            r, c = self.cell_rc(cell)
            for a, (dr, dc) in enumerate(MOVES):
                out[cell, a] = 0 <= r + dr < self.n_rows and 0 <= c + dc < self.n_cols
        return out

    def neighbour(self, cell: int, action: int) -> int:
        """Cell reached by ``action`` from ``cell`` if the move succeeds (itself if invalid)."""
        r, c = self.cell_rc(cell)
        dr, dc = MOVES[action]
        if 0 <= r + dr < self.n_rows and 0 <= c + dc < self.n_cols:
            return (r + dr) * self.n_cols + c + dc
        return int(cell)

    def intended_journey(
        self, policy: NDArray[np.integer], start: tuple[int, int], region: int
    ) -> list[tuple[int, int]]:
        """Cells a time-indexed policy visits when every move goes where it is aimed.

        This is the "optimal journey" of Bonaccorso's figures: the route the policy plans from
        ``start``, ignoring slips. It ends on entering a terminal cell or after ``H`` moves.

        Args:
            policy: (H, S) actions over the model's state index ``cell * K + region`` (e.g.
                ``backward_induction(env.model()).policy``).
            start: (row, col) of the first touchpoint.
            region: Region index of the customer.

        Returns:
            The visited cells as (row, col), the start first; entry ``t`` is where the policy
            acts at step ``t`` (except a final terminal cell, where it no longer acts).
        """
        pi = np.asarray(policy)
        if pi.ndim != 2 or pi.shape[1] != self.n_cells * self.n_regions:
            raise ValueError(
                f"policy must be (H, {self.n_cells * self.n_regions}), got shape {pi.shape}"
            )
        check_int("region", region, low=0, high=self.n_regions - 1)
        if len(start) != 2:
            raise ValueError(f"start must be (row, col), got {start!r}")
        r0 = check_int("start row", start[0], low=0, high=self.n_rows - 1)
        c0 = check_int("start col", start[1], low=0, high=self.n_cols - 1)
        cell = r0 * self.n_cols + c0
        cells = [self.cell_rc(cell)]
        for t in range(pi.shape[0]):
            if self.terminal_cells[cell]:
                break
            cell = self.neighbour(cell, int(pi[t, cell * self.n_regions + region]))
            cells.append(self.cell_rc(cell))
        return cells

    def _support_mask(self) -> NDArray[np.bool_]:
        """(1, N, 1, N) True where a one-step move can land: a grid neighbour or the cell."""
        n = self.n_cells
        mask = np.eye(n, dtype=bool)
        for cell in range(n):
            for a in range(N_ACTIONS):
                mask[cell, self.neighbour(cell, a)] = True
        return mask[None, :, None, :]

    def transition_matrix(self) -> NDArray[np.float64]:
        """(K, N, A, N) probabilities ``P[region, cell, action, next cell]``.

        Invalid moves stay in place with probability 1. Terminal cells are absorbing. Otherwise
        either ``transition_probs`` or the slip rule: the intended neighbour with probability
        ``p_intended``, the other valid neighbours share the rest equally (a cell whose only
        valid neighbour is the intended one moves there with probability 1).
        """
        k, n = self.n_regions, self.n_cells
        valid = self.valid_moves.astype(bool)
        out = np.zeros((k, n, N_ACTIONS, n))
        if self.transition_probs is not None:
            out[:] = self.transition_probs
        else:
            for cell in range(n):
                nbrs = [self.neighbour(cell, a) for a in range(N_ACTIONS) if valid[cell, a]]
                for a in np.flatnonzero(valid[cell]):
                    target = self.neighbour(cell, int(a))
                    others = [x for x in nbrs if x != target]
                    for kk, p in enumerate(self.p_intended):
                        if others:
                            out[kk, cell, a, target] = p
                            out[kk, cell, a, others] = (1.0 - p) / len(others)
                        else:
                            out[kk, cell, a, target] = 1.0
        for cell in range(n):
            for a in range(N_ACTIONS):
                if not valid[cell, a]:
                    out[:, cell, a, :] = 0.0
                    out[:, cell, a, cell] = 1.0
        term = np.flatnonzero(self.terminal_cells)
        out[:, term] = 0.0
        out[:, term, :, term] = 1.0
        return out

    def region_distribution(self) -> NDArray[np.float64]:
        """(K,) probabilities of the regions at a reset that does not choose one."""
        if self.region_probs is None:
            return np.full(self.n_regions, 1.0 / self.n_regions)
        return np.asarray(self.region_probs, dtype=np.float64)

    def start_cells(self, start: str) -> NDArray[np.int64]:
        """Cells a journey may start from under a start mode (uniform among them).

        Args:
            start: ``"f2f"`` (``start_cell``), ``"pauses"`` (pause cells on the grid
                boundary) or ``"any"`` (every non-terminal cell: exploring starts).

        Returns:
            Sorted int64 array of cell indices.
        """
        if start == "f2f":
            r, c = self.start_cell
            return np.array([r * self.n_cols + c], np.int64)
        if start == "pauses":
            types = self.cell_types.reshape(self.n_rows, self.n_cols)
            edge = np.zeros_like(types, dtype=bool)
            edge[[0, -1], :] = True
            edge[:, [0, -1]] = True
            cells = np.flatnonzero(((types == PAUSE) & edge).ravel())
            if cells.size == 0:
                raise ValueError("start='pauses' needs a pause cell 'P' on the grid boundary")
            return cells.astype(np.int64)
        if start == "any":
            return np.flatnonzero(~self.terminal_cells).astype(np.int64)
        raise ValueError(f"start must be 'f2f', 'pauses' or 'any', got {start!r}")

    def to_kernel(self, horizon: int, start: str) -> JourneyKernelParams:
        """Build the NamedTuple of arrays the numba kernels read.

        Args:
            horizon: Maximum number of steps per journey.
            start: Start mode (see :meth:`start_cells`).

        Returns:
            The kernel parameters.
        """
        horizon = check_int("horizon", horizon, low=1)
        p = self.transition_matrix()
        width = int((p > 0).sum(axis=-1).max())
        k, n = self.n_regions, self.n_cells
        shape = (k, n, N_ACTIONS, width)
        next_cum, next_cell = np.ones(shape), np.zeros(shape, np.int64)
        next_rho, next_con = np.zeros(shape), np.zeros(shape)  # per outcome, undiscounted
        types, valid = self.cell_types, self.valid_moves
        for kk in range(k):
            for s in range(n):
                for a in range(N_ACTIONS):
                    support = np.flatnonzero(p[kk, s, a] > 0)
                    m = support.size
                    next_cell[kk, s, a, :m] = support
                    next_cell[kk, s, a, m:] = support[-1]
                    cum = np.cumsum(p[kk, s, a, support])
                    cum[-1] = 1.0
                    next_cum[kk, s, a, :m] = cum
                    if valid[s, a]:
                        dst = types[next_cell[kk, s, a]]
                        next_rho[kk, s, a] = self.env_reward[kk, types[s], dst]
                        next_con[kk, s, a] = self.con_reward[kk, types[s], dst]
                    else:
                        next_rho[kk, s, a] = self.invalid_move_reward
        # Terminal cells never step (the journey has ended), so their rows stay zero-reward.
        next_rho[:, self.terminal_cells] = 0.0
        next_con[:, self.terminal_cells] = 0.0
        t = np.arange(horizon, dtype=np.float64)
        rows, cols = np.divmod(np.arange(n, dtype=np.int64), self.n_cols)
        terminal = self.terminal_cells.astype(np.int64)
        records = cell_records(rows, cols, terminal, valid)
        flat = (k * n * N_ACTIONS, width)
        # 2**53 * cum is exact (a power of two), and a 53-bit integer m is >= a real x exactly
        # when it is >= ceil(x): the thresholds compare as the cumulative probabilities do.
        thresholds = np.ceil(next_cum[..., :-1] * 2.0**53).astype(np.int64)
        return JourneyKernelParams(
            thresholds=thresholds.reshape(k * n * N_ACTIONS, width - 1),
            outcome=records[next_cell].reshape(flat),
            value=np.stack([next_rho, next_con], axis=-1).reshape(*flat, 2),
            cell_record=records,
            env_discount=self.lambda_env**t,
            con_discount=self.lambda_con**t,
            region_cum=np.cumsum(self.region_distribution()),
            start_cells=self.start_cells(start),
            horizon=horizon,
        )

    def replace(self, **changes: Any) -> CustomerJourneyParams:
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)


def reward_table(rows: dict[str, dict[str, float]], default: float = 0.0) -> NDArray[np.float64]:
    """Build a (7, 7) reward table from ``{from letter: {to letter: value}}``.

    Args:
        rows: Sparse specification by cell letters.
        default: Value of every unspecified entry.

    Returns:
        The dense (from type, to type) table.
    """
    out = np.full((N_TYPES, N_TYPES), float(default))
    for src, dsts in rows.items():
        for dst, v in dsts.items():
            out[CELL_LETTERS.index(src), CELL_LETTERS.index(dst)] = v
    return out


def shaped_reward_table(
    warmth: dict[str, float],
    cost: dict[str, float],
    discount: float,
    success: float,
    failure: float,
) -> NDArray[np.float64]:
    """A (7, 7) sales-rep reward table in which no loop of touchpoints can pay.

    A move from touchpoint type X to a touchpoint type Y earns
    ``discount * warmth[Y] - warmth[X] + cost[Y]``: the change in how warm the customer is
    (a potential, Ng, Harada & Russell 1999, ICML, Theorem 1) plus the touchpoint's cost
    (<= 0). Entering a success or failure cell earns ``success - warmth[X]`` or
    ``failure - warmth[X]`` (terminal cells have no warmth). Along any journey the warmth
    terms telescope: with the env's discount ``lambda_env**t`` they sum to
    ``lambda_env**T warmth[s_T] - warmth[s_0]``, so a loop that returns the customer to where
    it was earns only its costs, and the optimal journey is the one that converts at the
    least cost. The warmth values set how rewarding each move *looks* to the sales rep, not
    which journey is optimal (up to the end term of a journey cut off by the horizon).

    Args:
        warmth: Warmth of each touchpoint letter (``"FEWCP"``), >= 0.
        cost: Cost of entering each touchpoint letter, <= 0.
        discount: The env's discount ``lambda_env`` of the sales-rep reward.
        success: Reward of entering a success cell (before the warmth term).
        failure: Reward of entering a failure cell (before the warmth term).

    Returns:
        The dense (from type, to type) table (rows of terminal types are zero).
    """
    touchpoints = CELL_LETTERS[:5]
    for name, values, ok in (("warmth", warmth, lambda v: v >= 0), ("cost", cost,
                                                                    lambda v: v <= 0)):  # fmt: skip
        if sorted(values) != sorted(touchpoints):
            raise ValueError(f"{name} needs one value per touchpoint {list(touchpoints)}, got "
                             f"{sorted(values)}")  # fmt: skip
        for letter, v in values.items():
            check_scalar(f"{name}[{letter!r}]", v)
            if not ok(v):
                sign = ">= 0" if name == "warmth" else "<= 0"
                raise ValueError(f"{name}[{letter!r}] must be {sign}, got {v}")
    out = np.zeros((N_TYPES, N_TYPES))
    for i, src in enumerate(touchpoints):
        for j, dst in enumerate(CELL_LETTERS):
            if dst == "S":
                out[i, j] = success - warmth[src]
            elif dst == "X":
                out[i, j] = failure - warmth[src]
            else:
                out[i, j] = discount * warmth[dst] - warmth[src] + cost[dst]
    return out

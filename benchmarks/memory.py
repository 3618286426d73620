"""Memory of the numba vector envs at large N: what they hold and what one step allocates.

Issue 18 sets the budget: a vector env of N copies holds O(N) state, no step allocates more
than the arrays it returns, and at N = 1,000,000 every id runs within 2 GB. For each id and
each ``copy`` mode (see :mod:`crm_envs.core.vector`), :func:`measure_isolated` runs
:func:`measure` in a fresh Python process, so that one measurement's peak never mixes with
another's, and reports:

* **RSS**: the process's resident memory after the imports and the kernels' compilation (on a
  small env of the same kernel variant, then deleted), ``ru_maxrss`` at that point (imports and
  compilation), the largest resident peak during a call into the env (make, reset, step) and
  the peak of the whole run, drawing the actions included (both with the baseline). The
  resident peak ``VmHWM`` is reset around each call through ``/proc/self/clear_refs``.
* **What the env holds**: the bytes of its per-copy state arrays (``_per_copy``), of the output
  buffers it keeps between calls (the two preallocated sets of ``copy=False``; with
  ``copy=True`` the env keeps only the set it last returned, which the caller holds too) and
  of every other array it references (parameter tables, scratch).
* **What one step costs**: the bytes of the arrays it returns, and the peak of the memory
  traced by :mod:`tracemalloc` during the step (NumPy reports its buffers to it), minus the
  returned arrays allocated in that step: the step's extra allocation, which the issue wants
  no larger than the returned arrays. Memory numba allocates inside a kernel is not traced,
  so the step's rise of the resident peak (``VmHWM`` reset through ``/proc/self/clear_refs``)
  is reported as well (it counts newly touched pages, whoever allocated them), with the count
  of numba's runtime allocations during the step.

Actions obey each env's rules, so every step does its full work: a random allowed action per
copy under ``info["action_mask"]``, plans drawn from the task's ``random_allowed`` for envs
with business rules (the campaign), and the action space's seeded sample otherwise.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import tracemalloc
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

__all__ = [
    "LIMIT_BYTES",
    "MemoryResult",
    "format_table",
    "machine_load",
    "measure",
    "measure_isolated",
    "run_memory",
    "valid_actions",
]

LIMIT_BYTES = 2 * 10**9
"""Issue 18's budget for one id at N = 1,000,000: 2 GB (10^9 bytes each)."""

CHILD_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}
"""Environment of the measuring process unless the caller's sets it: glibc maps every block
above 128 KiB on its own and unmaps it when freed (instead of a threshold that grows to 32 MiB
and keeps freed blocks for reuse), so resident memory is what is alive and a step's new arrays
show in its RSS rise. At N = 1,000,000 this lowered the env peaks by 0.5 to 112 MB (freed
blocks glibc kept) and changed no row's verdict against the 2 GB budget."""

#: Modules whose objects :func:`_arrays` looks into for arrays.
_FOLLOW = ("crm_envs", "gymnasium.spaces")

#: Distinct plans in the pool that campaign actions are drawn from.
PLAN_POOL = 256


@dataclass(frozen=True)
class MemoryResult:
    """One id, N and ``copy`` mode, measured in one process (all sizes in bytes).

    Attributes:
        env_id: Registered id.
        num_envs: Copies N.
        copy: The vector env's ``copy`` argument.
        steps: Steps taken after the reset (the traced step not included).
        baseline_rss: Resident memory after imports and compilation, before the env was made.
        compile_peak_rss: ``ru_maxrss`` at that point: the peak of imports and compilation.
        peak_rss: Peak resident memory while the env lived (baseline included): made, reset,
            stepped, actions drawn. ``ru_maxrss`` itself when ``VmHWM`` cannot be reset.
        env_peak_rss: The largest resident peak during a call into the env (make, reset,
            step), baseline included, with what the caller holds then (its actions, the arrays
            returned before). Drawing the actions (e.g. the sampling of a batched ``Box``) is
            the caller's cost and left out.
        state_bytes: The env's per-copy state arrays (its ``_per_copy`` attributes).
        held_output_bytes: Output buffers the env keeps between calls besides the set it
            returned last (``copy=False``: its two preallocated sets; ``copy=True``: 0).
        space_bytes: The arrays of the batched ``observation_space`` and ``action_space``
            (Gymnasium's ``batch_space`` stores bounds per copy).
        other_bytes: Every other array the env (and its task) references.
        returned_bytes: The distinct arrays one step returns (observations, rewards, flags,
            info arrays).
        action_bytes: One batch of actions, as passed to ``step``.
        step_traced_peak: Peak of the memory traced by tracemalloc during one step.
        step_new_returned: Bytes of the returned arrays that step allocated (``copy=True``:
            all of them; ``copy=False``: none once both sets exist).
        step_rss_rise: The step's peak resident memory minus the resident memory before it
            (-1 when ``/proc/self/clear_refs`` is not available). Pages glibc kept from
            earlier frees are reused without a rise, so this is a lower bound.
        step_numba_allocs: Allocations of numba's runtime during the step (invisible to
            tracemalloc); -1 unless the process started with ``NUMBA_NRT_STATS=1``. Numba
            counts one per array argument it unboxes (a small header, no data), so a count
            that does not grow with N means the kernels create no arrays of their own.
        seconds: Wall time of the whole measurement, reset and steps included.
    """

    env_id: str
    num_envs: int
    copy: bool
    steps: int
    baseline_rss: int
    compile_peak_rss: int
    peak_rss: int
    env_peak_rss: int
    state_bytes: int
    held_output_bytes: int
    space_bytes: int
    other_bytes: int
    returned_bytes: int
    action_bytes: int
    step_traced_peak: int
    step_new_returned: int
    step_rss_rise: int
    step_numba_allocs: int
    seconds: float

    @property
    def step_extra(self) -> int:
        """Bytes one step allocates beyond the returned arrays it allocates (traced peak)."""
        return self.step_traced_peak - self.step_new_returned

    @property
    def env_bytes(self) -> int:
        """Everything the env holds between calls: state, kept outputs, spaces, other arrays."""
        return self.state_bytes + self.held_output_bytes + self.space_bytes + self.other_bytes

    @property
    def over_limit(self) -> bool:
        """Whether the peak in the env's calls (or compiling) exceeds :data:`LIMIT_BYTES`."""
        return max(self.env_peak_rss, self.compile_peak_rss) > LIMIT_BYTES


# --------------------------------------------------------------------------- process memory
def _status_bytes(field: str) -> int | None:
    """A ``VmRSS``/``VmHWM`` line of ``/proc/self/status`` in bytes (None off Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _maxrss() -> int:
    """``ru_maxrss`` of this process in bytes (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _reset_peak() -> bool:
    """Reset the resident peak ``VmHWM`` to the current RSS; False if the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return _status_bytes("VmHWM") is not None


def _numba_allocs() -> int:
    """Allocations numba's runtime made so far; -1 unless ``NUMBA_NRT_STATS=1`` at start."""
    from numba.core.runtime import rtsys

    try:
        return int(rtsys.get_allocation_stats().alloc)
    except RuntimeError:
        return -1


class _Peaks:
    """Resident peaks of a run: the whole run's, and the largest during calls into the env."""

    def __init__(self) -> None:
        self.can_reset = _reset_peak()
        self.whole, self.env = _rss(), 0

    def _read(self) -> int:
        hwm = _status_bytes("VmHWM") if self.can_reset else None
        return _maxrss() if hwm is None else hwm

    def mark(self) -> None:
        """Close the interval since the last mark (e.g. drawing actions) into the run's peak."""
        self.whole = max(self.whole, self._read())
        if self.can_reset:
            _reset_peak()

    def env_call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Call ``func`` and count its resident peak as the env's (and the run's)."""
        self.mark()
        out = func(*args, **kwargs)
        peak = self._read()
        self.env, self.whole = max(self.env, peak), max(self.whole, peak)
        if self.can_reset:
            _reset_peak()
        return out


def _rss() -> int:
    rss = _status_bytes("VmRSS")
    return _maxrss() if rss is None else rss


# --------------------------------------------------------------------------- array accounting
def _key(a: np.ndarray) -> tuple[int, int]:
    """Identity of an array's memory: (address of its first byte, bytes)."""
    base = a
    while isinstance(base.base, np.ndarray):
        base = base.base
    return base.__array_interface__["data"][0], base.nbytes


def _arrays(obj: Any, depth: int = 4, seen: set[int] | None = None) -> list[np.ndarray]:
    """Arrays referenced by ``obj``: its attributes, dicts, lists and tuples, a few levels down.

    Objects of crm_envs (the env, its task and parameters) and Gymnasium spaces are followed;
    others are not.
    """
    seen = set() if seen is None else seen
    if id(obj) in seen or depth < 0:
        return []
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, dict):
        items = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        items = list(obj)
    elif type(obj).__module__.startswith(_FOLLOW) and hasattr(obj, "__dict__"):
        items = list(vars(obj).values())
    else:
        return []
    return [a for item in items for a in _arrays(item, depth - 1, seen)]


def _nbytes(arrays: Sequence[np.ndarray], exclude: set[tuple[int, int]] = frozenset()) -> int:
    """Bytes of the distinct memory blocks behind ``arrays``, except those in ``exclude``."""
    keys = {_key(a) for a in arrays if a.nbytes} - set(exclude)
    return sum(size for _, size in keys)


def _returned(result: tuple) -> list[np.ndarray]:
    """The arrays of a ``reset`` or ``step`` result, info arrays included."""
    *arrays, info = result
    return [np.asarray(a) for a in arrays] + [v for v in info.values() if isinstance(v, np.ndarray)]


# --------------------------------------------------------------------------- actions
def valid_actions(env: Any, info: dict[str, Any], rng: np.random.Generator) -> Any:
    """One batch of actions that obeys the env's rules, drawn with ``rng``.

    Args:
        env: A crm_envs vector env.
        info: The info of the last ``reset``/``step`` (its ``action_mask``, if any, is obeyed).
        rng: The random generator of the actions.

    Returns:
        An array of one action per copy, of the action space's dtype.
    """
    n, base = env.num_envs, env.unwrapped
    if "action_mask" in info:  # a uniform allowed action per copy
        score = rng.random(np.shape(info["action_mask"]))
        score[np.asarray(info["action_mask"]) == 0] = -1.0
        return score.argmax(axis=1).astype(env.action_space.dtype)
    if getattr(base.task, "campaign", False):  # business rules: plans drawn within them
        pool = np.stack([base.task.random_allowed(rng) for _ in range(PLAN_POOL)])
        pool = pool.astype(env.action_space.dtype)
        if not base.allowed(pool).all():
            raise RuntimeError(f"{type(base).__name__}: a drawn plan breaks the rule")
        return pool[rng.integers(0, PLAN_POOL, size=n)]
    env.action_space.seed(int(rng.integers(2**31)))
    return env.action_space.sample()


def _check_accepted(env_id: str, info: dict[str, Any]) -> None:
    if "rejected" in info and np.asarray(info["rejected"]).any():
        raise RuntimeError(f"{env_id}: valid_actions gave actions the env rejected")


# --------------------------------------------------------------------------- measurement
def measure(env_id: str, num_envs: int, copy: bool, steps: int = 3, seed: int = 0) -> MemoryResult:
    """Measure one id, N and ``copy`` mode in this process (see the module docstring).

    Peak RSS is only meaningful in a fresh process: use :func:`measure_isolated`. The byte
    accounting (state, outputs, returned arrays, traced step allocation) holds in any process.

    Args:
        env_id: Registered id with a vector entry point.
        num_envs: Copies N.
        copy: The vector env's ``copy`` argument.
        steps: Steps after the reset, before the traced step (>= 2, so that with
            ``copy=False`` both preallocated sets exist when the traced step runs).
        seed: Seed of the env and of the actions.

    Returns:
        The :class:`MemoryResult`.
    """
    import time

    import gymnasium as gym

    import crm_envs  # noqa: F401  (registers the ids)
    from crm_envs.core.vector import PARALLEL_MIN_ENVS

    if steps < 2:
        raise ValueError(f"steps must be >= 2 (both output sets of copy=False), got {steps}")
    start = time.perf_counter()

    def make(n: int) -> Any:
        return gym.make_vec(
            env_id, num_envs=n, vectorization_mode="vector_entry_point", copy=copy
        ).unwrapped

    # Compile the same kernel variant (serial or parallel) on a small env, then drop it.
    warm, rng = make(min(num_envs, PARALLEL_MIN_ENVS)), np.random.default_rng(seed)
    _, info = warm.reset(seed=seed)
    for _ in range(2):
        info = warm.step(valid_actions(warm, info, rng))[-1]
    del warm, info
    gc.collect()
    baseline, compile_peak = _rss(), _maxrss()
    peaks = _Peaks()
    env, rng = peaks.env_call(make, num_envs), np.random.default_rng(seed)
    last = peaks.env_call(env.reset, seed=seed)
    for _ in range(steps):
        actions = valid_actions(env, last[-1], rng)
        last = peaks.env_call(env.step, actions)
        _check_accepted(env_id, last[-1])
    actions = valid_actions(env, last[-1], rng)
    peaks.mark()

    state = [getattr(env, name) for name in env._per_copy]
    held = [a for slot in env._ring for a in slot.values()] if not env.copy else []
    kept_before = {_key(a) for a in held}
    returned_before = {_key(a) for a in _returned(last)}

    # The traced step: the caller still holds the previous step's arrays, as in a loop.
    gc.collect()
    rise_ok = _reset_peak()
    rss0, allocs0 = _rss(), _numba_allocs()
    tracemalloc.start()
    result = env.step(actions)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hwm = _status_bytes("VmHWM") if rise_ok else None
    allocs = -1 if allocs0 < 0 else _numba_allocs() - allocs0
    _check_accepted(env_id, result[-1])
    returned = _returned(result)
    new_returned = _nbytes(returned, exclude=kept_before | returned_before)

    spaces = _arrays(env.observation_space) + _arrays(env.action_space)
    known = {_key(a) for a in state + held + returned + spaces}
    other = [a for a in _arrays(env) if _key(a) not in known]
    return MemoryResult(
        env_id=env_id,
        num_envs=num_envs,
        copy=bool(copy),
        steps=steps,
        baseline_rss=baseline,
        compile_peak_rss=compile_peak,
        peak_rss=max(peaks.whole, hwm or 0),
        env_peak_rss=max(peaks.env, hwm or 0),
        state_bytes=_nbytes(state),
        held_output_bytes=_nbytes(held),
        space_bytes=_nbytes(spaces),
        other_bytes=_nbytes(other),
        returned_bytes=_nbytes(returned),
        action_bytes=int(np.asarray(actions).nbytes),
        step_traced_peak=int(traced_peak),
        step_new_returned=new_returned,
        step_rss_rise=-1 if hwm is None else hwm - rss0,
        step_numba_allocs=allocs,
        seconds=time.perf_counter() - start,
    )


def measure_isolated(
    env_id: str, num_envs: int, copy: bool, steps: int = 3, seed: int = 0
) -> MemoryResult:
    """:func:`measure` in a fresh Python process, so that its peak RSS is its own.

    Args:
        env_id: Registered id.
        num_envs: Copies N.
        copy: The vector env's ``copy`` argument.
        steps: Steps before the traced step.
        seed: Seed of the env and of the actions.

    Returns:
        The child's :class:`MemoryResult`.

    Raises:
        RuntimeError: If the child fails (its stderr is in the message).
    """
    args = json.dumps([env_id, num_envs, copy, steps, seed])
    res = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", args],
        capture_output=True,
        text=True,
        env={**CHILD_ENV, **os.environ, "PYTHONWARNINGS": "ignore", "NUMBA_NRT_STATS": "1"},
        check=False,
    )
    if res.returncode != 0:
        raise RuntimeError(
            f"memory measurement of {env_id} (N={num_envs}, copy={copy}) failed with exit "
            f"code {res.returncode}:\n{res.stderr[-3000:]}"
        )
    return MemoryResult(**json.loads(res.stdout.strip().splitlines()[-1]))


def run_memory(
    env_ids: Sequence[str] | None = None,
    num_envs: int = 1_000_000,
    steps: int = 3,
    seed: int = 0,
    progress_bar: bool = True,
) -> list[MemoryResult]:
    """Measure every id with ``copy=True`` and ``copy=False``, one fresh process at a time.

    Args:
        env_ids: Ids (default: every registered crm_envs id).
        num_envs: Copies N.
        steps: Steps before the traced step.
        seed: Seed of the envs and actions.
        progress_bar: Show a tqdm bar.

    Returns:
        One :class:`MemoryResult` per id and mode.
    """
    from crm_envs.registration import ENV_INFO

    ids = list(env_ids) if env_ids else [i.env_id for i in ENV_INFO]
    jobs = [(i, c) for i in ids for c in (True, False)]
    return [measure_isolated(i, num_envs, c, steps, seed)
            for i, c in tqdm(jobs, desc="memory", disable=not progress_bar)]  # fmt: skip


def machine_load() -> str:
    """The 1-, 5- and 15-minute load averages and the core count, as text."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load unknown"
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def _mb(b: int) -> str:
    return f"{b / 1e6:,.1f}"


def format_table(results: Sequence[MemoryResult], load: str | None = None) -> str:
    """Markdown table of :func:`run_memory`'s results, with the machine's load.

    Sizes are in MB (10^6 bytes); "per copy" columns are bytes per env copy. A row whose env
    peak (or compilation) went above :data:`LIMIT_BYTES` is marked **over 2 GB**; a step whose
    extra allocation exceeds the arrays it returns is marked **over**.

    Args:
        results: Measurements.
        load: The machine's load (default: :func:`machine_load` now).

    Returns:
        The Markdown text: a line with N and the load, then the table.
    """
    sizes = sorted({r.num_envs for r in results})
    head = (
        f"N = {', '.join(f'{n:,}' for n in sizes)}; {load or machine_load()}; MB = 10^6 bytes; "
        "peaks are resident memory, baseline included: env peak during make/reset/step "
        "calls, run peak also while drawing the actions; 'within 2 GB' judges the env peak"
    )
    lines = [
        head,
        "",
        "| id | copy | N | baseline MB | compile peak MB | env peak MB | env peak - baseline MB "
        "| run peak MB "
        "| state B/copy | held outputs B/copy | spaces B/copy | other MB | returned/step B/copy "
        "| actions B/copy | step extra (traced) MB | step RSS rise MB | numba allocs/step "
        "| within 2 GB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        n = r.num_envs
        extra = _mb(r.step_extra) + (" **over**" if r.step_extra > r.returned_bytes else "")
        rise = "n/a" if r.step_rss_rise < 0 else _mb(r.step_rss_rise)
        lines.append(
            f"| `{r.env_id}` | {r.copy} | {n:,} | {_mb(r.baseline_rss)} | "
            f"{_mb(r.compile_peak_rss)} | {_mb(r.env_peak_rss)} | "
            f"{_mb(r.env_peak_rss - r.baseline_rss)} | {_mb(r.peak_rss)} | "
            f"{r.state_bytes / n:,.1f} | {r.held_output_bytes / n:,.1f} | "
            f"{r.space_bytes / n:,.1f} | {_mb(r.other_bytes)} | {r.returned_bytes / n:,.1f} | "
            f"{r.action_bytes / n:,.1f} | {extra} | {rise} | "
            f"{'n/a' if r.step_numba_allocs < 0 else r.step_numba_allocs} | "
            f"{'**over 2 GB**' if r.over_limit else 'yes'} |"
        )
    return "\n".join(lines)


def _child(argv: Sequence[str]) -> None:
    env_id, num_envs, copy, steps, seed = json.loads(argv[0])
    result = measure(env_id, num_envs, copy, steps, seed)
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    _child(sys.argv[1:])

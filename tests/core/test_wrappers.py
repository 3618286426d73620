"""The generic TaskEnv/TaskVectorEnv, through the whole env written in docs/architecture.md."""

import importlib
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from crm_envs.core.wrappers import check_batch_actions


@pytest.fixture(scope="module")
def nudge(tmp_path_factory):
    """The documented example env, imported from the page (a module file, so numba caches)."""
    text = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text()
    start = text.index("A whole env on the driver, in one file")
    code = text[start:].split("```python\n", 1)[1].split("```", 1)[0]
    folder = tmp_path_factory.mktemp("doc_env")
    (folder / "nudge_doc_env.py").write_text(code)
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("nudge_doc_env")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("nudge_doc_env", None)


def test_the_documented_env_passes_gymnasiums_checker(nudge):
    env = nudge.NudgeEnv()
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    assert obs.tolist() == [0] and info == {"sale": 0.0}
    with pytest.raises(ValueError, match="action space"):
        env.step(2)
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"bogus": 1})


def test_the_documented_vector_env_equals_single_envs(nudge):
    n, steps = 5, 12  # over two episodes of 5 months: the autoreset is covered
    vec = nudge.NudgeVectorEnv(num_envs=n, p_buy=0.6)
    actions = np.random.default_rng(1).integers(0, 2, (steps, n))
    obs, info = vec.reset(seed=10)
    trace = [(obs.copy(), None, info["sale"].copy())]
    for a in actions:
        obs, rew, term, trunc, info = vec.step(a)
        trace.append((obs.copy(), rew.copy(), info["sale"].copy()))
    for i in range(n):
        env = nudge.NudgeEnv(p_buy=0.6)
        obs, info = env.reset(seed=10 + i)
        assert obs.tolist() == trace[0][0][i].tolist() and info["sale"] == trace[0][2][i]
        ended = False
        for t, a in enumerate(actions, start=1):
            if ended:  # NEXT_STEP autoreset of the vector env
                obs, info = env.reset()
                rew, ended = 0.0, False
            else:
                obs, rew, term, trunc, info = env.step(int(a[i]))
                ended = term or trunc
            assert obs.tolist() == trace[t][0][i].tolist()
            assert rew == trace[t][1][i] and info["sale"] == trace[t][2][i]


def test_the_documented_env_pays_p_buy_minus_cost_per_email(nudge):
    n = 20_000
    vec = nudge.NudgeVectorEnv(num_envs=n, p_buy=0.3, cost=0.1)
    vec.reset(seed=3)
    rew = vec.step(np.ones(n, dtype=np.int64))[1]
    se = rew.std() / np.sqrt(n)
    assert abs(rew.mean() - (0.3 - 0.1)) < 4 * se


@pytest.mark.parametrize(
    ("space", "actions", "message"),
    [
        (gym.spaces.Discrete(3), [0, 3], "lie in the action space"),
        (gym.spaces.Discrete(3), [0.0, 1.0], "integer array"),
        (gym.spaces.Discrete(3), [0, 1, 2], "shape"),
        (gym.spaces.MultiDiscrete([2, 3]), [[0, 2], [1, 3]], "lie in the action space"),
        (gym.spaces.Box(0.0, 1.0, (2,)), [[0.5, 1.5], [0.0, 0.0]], "nothing is clipped"),
        (gym.spaces.Box(0.0, 1.0, (2,)), [[np.nan, 0.5], [0.0, 0.0]], "nothing is clipped"),
        # The first bad entry is named, with its index in the batch.
        (gym.spaces.MultiDiscrete([2, 3]), [[0, 2], [1, 3]], r"actions\[1, 1\] = 3"),
        (gym.spaces.Box(0.0, 1.0, (2,)), [[0.5, 1.0], [0.0, -0.5]], r"actions\[1, 1\] = -0.5"),
        # Spaces that do not start at 0, and per-entry bounds.
        (gym.spaces.Discrete(3, start=1), [1, 0], r"actions\[1\] = 0"),
        (gym.spaces.MultiDiscrete([2, 3], start=[5, 0]), [[5, 0], [4, 0]], r"\[1, 0\] = 4"),
        (
            gym.spaces.Box(np.array([0.0, -2.0], np.float32), np.array([1.0, 0.0], np.float32)),
            [[1, 0], [0, 1]],
            r"actions\[1, 1\] = 1",
        ),
        # Unbounded boxes still refuse infinities and NaN.
        (gym.spaces.Box(-np.inf, np.inf, (1,)), [[0.0], [np.inf]], "be finite"),
        # A uint64 too large for int64 cannot wrap into the range.
        (gym.spaces.Discrete(3), np.array([0, 2**64 - 1], dtype=np.uint64), "lie in the action"),
        # ... not even into a range below 0, where it would land after the cast (-1).
        (
            gym.spaces.MultiDiscrete([3, 3], start=[-1, -1]),
            np.array([[0, 0], [2**64 - 1, 0]], dtype=np.uint64),
            r"actions\[1, 0\] = 18446744073709551615",
        ),
        # Nothing is coerced: bool, complex and string batches are refused.
        (gym.spaces.Discrete(2), np.array([True, False]), "integer array"),
        (gym.spaces.Box(0.0, 1.0, (1,)), np.array([[True], [False]]), "real numbers"),
        (gym.spaces.Box(0.0, 1.0, (1,)), np.array([[0.5 + 0j], [0.5]]), "real numbers"),
        (gym.spaces.Box(0.0, 1.0, (1,)), np.array([["0.5"], ["0.5"]]), "real numbers"),
    ],
)
def test_the_shared_action_validator_rejects_bad_batches(space, actions, message):
    with pytest.raises(ValueError, match=message):
        check_batch_actions(space, actions, 2)


def _large(space, n, dtype, where=None, value=None):
    batch = np.zeros((n, *space.shape), dtype=dtype)
    if isinstance(space, gym.spaces.Box):
        batch[...] = np.broadcast_to(np.clip(0.0, space.low, space.high), batch.shape)
    else:
        batch[...] = np.broadcast_to(getattr(space, "start", 0), batch.shape)
    if where is not None:
        batch[where] = value
    return batch


@pytest.mark.parametrize(
    ("space", "dtype", "where", "value", "message"),
    [
        (gym.spaces.Discrete(3), np.int64, (4321,), 3, r"actions\[4321\] = 3"),
        (gym.spaces.Discrete(3, start=1), np.int32, (4999,), 0, r"actions\[4999\] = 0"),
        (gym.spaces.MultiDiscrete([2, 3]), np.int64, (4500, 1), 3, r"actions\[4500, 1\] = 3"),
        (gym.spaces.Box(0.0, 1.0, (2,)), np.float32, (4321, 1), np.nan, r"\[4321, 1\] = nan"),
        (gym.spaces.Box(0.0, 1.0, (2,)), np.float64, (3, 0), -1e-9, r"\[3, 0\] = -1e-09"),
        (gym.spaces.Box(-np.inf, np.inf, (1,)), np.float32, (4999, 0), -np.inf, "be finite"),
        (
            gym.spaces.Box(np.array([0.0, -2.0], np.float32), np.array([1.0, 0.0], np.float32)),
            np.float32,
            (3000, 1),
            0.5,
            r"actions\[3000, 1\] = 0.5",
        ),
    ],
)
def test_large_batches_are_checked_as_strictly_as_small_ones(space, dtype, where, value, message):
    # From NUMPY_CHECK_MIN entries the batch is first checked by NumPy's min and max; a bad
    # entry anywhere must still be refused and named, as in a small batch.
    from crm_envs.core.wrappers import NUMPY_CHECK_MIN

    n = 5000
    assert n * int(np.prod(space.shape)) >= NUMPY_CHECK_MIN
    good = _large(space, n, dtype)
    assert np.array_equal(check_batch_actions(space, good, n), good)
    with pytest.raises(ValueError, match=message):
        check_batch_actions(space, _large(space, n, dtype, where, value), n)
    if isinstance(space, gym.spaces.Box) and np.isfinite(space.high).all():
        edge = np.broadcast_to(space.high, good.shape).astype(dtype)  # both bounds are allowed
        assert check_batch_actions(space, edge, n).shape == good.shape


def test_a_batch_too_large_for_the_numpy_pre_check_is_checked_all_the_same():
    from crm_envs.core.wrappers import NUMPY_CHECK_MAX_BYTES

    n = NUMPY_CHECK_MAX_BYTES // 8 + 10
    batch = np.zeros(n, dtype=np.int64)
    assert check_batch_actions(gym.spaces.Discrete(3), batch, n) is not None
    batch[-1] = 3
    with pytest.raises(ValueError, match=rf"actions\[{n - 1}\] = 3"):
        check_batch_actions(gym.spaces.Discrete(3), batch, n)


def test_the_shared_action_validator_returns_kernel_arrays():
    out = check_batch_actions(gym.spaces.Discrete(3), np.array([0, 2], np.int32), 2)
    assert out.dtype == np.int64 and out.tolist() == [0, 2]
    box = check_batch_actions(gym.spaces.Box(0.0, 1.0, (2,)), [[0.5, 1.0], [0.0, 0.25]], 2)
    assert box.dtype == np.float64 and box.flags.c_contiguous


def test_the_shared_validator_accepts_every_valid_edge():
    space = gym.spaces.Box(np.array([0.0, -2.0], np.float32), np.array([1.0, 0.0], np.float32))
    out = check_batch_actions(space, [[0, -2], [1, 0]], 2)  # integers, both bounds exactly
    assert out.dtype == np.float64 and out.tolist() == [[0.0, -2.0], [1.0, 0.0]]
    disc = gym.spaces.Discrete(3, start=1)
    assert check_batch_actions(disc, np.array([1, 3], np.uint8), 2).tolist() == [1, 3]
    # After a space's bounds are reassigned, the validator reads the new ones.
    space.high = np.array([2.0, 0.0], dtype=np.float32)
    assert check_batch_actions(space, [[2.0, 0.0], [0.0, 0.0]], 2)[0, 0] == 2.0


def test_a_float32_box_batch_reaches_the_kernel_uncopied():
    # A vector step allocates nothing of size N for the usual float32 actions, nor casts a
    # batch of one (the single env copies it into its own float64 buffer).
    space = gym.spaces.Box(-1.0, 1.0, (7,), dtype=np.float32)
    batch = np.zeros((4, 7), dtype=np.float32)
    assert check_batch_actions(space, batch, 4) is batch
    one = batch[:1].copy()
    assert check_batch_actions(space, one, 1) is one
    assert check_batch_actions(space, batch.astype(np.float64), 4).dtype == np.float64
    swapped = np.zeros((4, 7), dtype=">f4")  # not native: cast (numba reads native only)
    assert check_batch_actions(space, swapped, 4).dtype == np.float64
    strided = np.zeros((4, 14), dtype=np.float32)[:, ::2]
    out = check_batch_actions(space, strided, 4)
    assert out.flags.c_contiguous and out.dtype == np.float64


def _started(env_id, seed=3):
    env = gym.make(env_id).unwrapped
    env.reset(seed=seed)
    return env


_ROI, _CAMPAIGN = "crm_envs/ROIAllocation-v0", "crm_envs/PromotionCampaign-v2"
# (id, dtype, a valid entry, bad entries with the error they must raise, a refused dtype)
_ARRAY_CASES = [
    (_ROI, dtype, 0.25, [(1.5, r"nothing is clipped.*= 1.5"), (np.nan, "be finite")], bool)
    for dtype in (np.float32, np.float64)
] + [
    (_CAMPAIGN, np.int64, 2, [(21, r"nothing is clipped.*= 21"), (-1, r"clipped.*= -1")], float),
    (_CAMPAIGN, np.int32, 2, [(21, r"nothing is clipped.*= 21"), (-1, r"clipped.*= -1")], float),
    (
        _CAMPAIGN,
        np.uint64,
        2,
        [(21, r"clipped.*= 21"), (2**64 - 1, "= 18446744073709551615")],
        float,
    ),
]


@pytest.mark.parametrize("case", _ARRAY_CASES, ids=lambda c: f"{c[0][9:]}-{c[1].__name__}")
@pytest.mark.parametrize("pickled", [False, True])
def test_the_single_array_action_env_refuses_what_the_shared_validator_refuses(case, pickled):
    # A single Box or MultiDiscrete env checks an array action in its bound buffer (its fast
    # path); it must refuse exactly what the shared validator refuses, also after a pickle
    # round trip, and a refused action must leave no trace on the next step.
    import pickle

    env_id, dtype, value, bad_entries, refused_dtype = case
    env, twin = _started(env_id), _started(env_id)
    good = np.full(env.action_space.shape, value, dtype=dtype)
    env.step(good)
    twin.step(good)
    if pickled:
        env = pickle.loads(pickle.dumps(env))
    for bad_value, message in bad_entries:
        bad = good.copy()
        bad[3] = bad_value
        with pytest.raises(ValueError, match=message):
            env.step(bad)
    with pytest.raises(ValueError, match="shape"):
        env.step(good[:-1])
    with pytest.raises(ValueError, match="dtype"):
        env.step(good.astype(refused_dtype))
    for _ in range(5):
        a, b = env.step(good), twin.step(good)
        assert np.array_equal(a[0], b[0]) and a[1:4] == b[1:4]


def test_a_vector_step_is_the_same_for_read_only_and_writeable_batches():
    # The compiled entry points are chosen by the batch's flags: a read-only float32 batch
    # (passed to the kernel uncopied) must take its own and step like a writeable one.
    envs = [
        gym.make_vec(
            "crm_envs/ROIAllocation-v0", num_envs=4, vectorization_mode="vector_entry_point"
        )
        for _ in range(2)
    ]
    for env in envs:
        env.reset(seed=5)
    batch = np.full((4, 7), 0.1, dtype=np.float32)
    frozen = batch.copy()
    frozen.flags.writeable = False
    for _ in range(3):
        a, b = envs[0].step(batch), envs[1].step(frozen)
        assert all(np.array_equal(x, y) for x, y in zip(a[:4], b[:4], strict=True))

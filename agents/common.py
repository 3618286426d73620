"""What every agent shares: observation indexing, schedules, evaluation, saving."""

from __future__ import annotations

import inspect
import json
import math
import os
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.lib.npyio import NpzFile
from numpy.typing import NDArray

from crm_envs.core.oracle import play_episodes
from crm_envs.core.params import check_bool, check_int, check_range_array

__all__ = [
    "SEED_MAX",
    "EvalResult",
    "ObsIndexer",
    "SavableAgent",
    "check_env",
    "check_field",
    "check_learn_args",
    "check_observation",
    "check_reward",
    "check_seed",
    "evaluate_policy",
    "masked_action",
]


def check_observation(space: gym.Space[Any], obs: Any) -> None:
    """Raise ``ValueError`` unless ``obs`` belongs to ``space`` (the agents' input check)."""
    arr = np.asarray(obs)
    if not space.contains(arr if arr.ndim else arr.astype(np.int64).item()):
        raise ValueError(
            f"observation {obs!r} is not in the observation space {space} "
            f"(shape {getattr(space, 'shape', None)})"
        )


class ObsIndexer:
    """Maps observations of a ``Discrete`` or ``MultiDiscrete`` space to table rows.

    Args:
        space: The env's observation space.
    """

    def __init__(self, space: gym.Space[Any]) -> None:
        if isinstance(space, gym.spaces.Discrete):
            self.nvec = np.array([space.n], dtype=np.int64)
        elif isinstance(space, gym.spaces.MultiDiscrete) and space.nvec.ndim == 1:
            self.nvec = space.nvec.astype(np.int64)
        else:
            raise TypeError(
                f"tabular agents need a Discrete or 1-D MultiDiscrete observation space, "
                f"got {space}"
            )
        self.space = space
        #: Multipliers such that ``index = obs @ strides``.
        self.strides = np.r_[np.cumprod(self.nvec[::-1])[::-1][1:], 1].astype(np.int64)
        self.n = int(np.prod(self.nvec))

    def __call__(self, obs: Any) -> int:
        """Row of one observation; raises ``ValueError`` if it is not in the space."""
        check_observation(self.space, obs)
        return int(np.atleast_1d(np.asarray(obs)).astype(np.int64) @ self.strides)


#: Largest seed an agent accepts: numba's and NumPy's legacy generators take 32-bit seeds.
SEED_MAX = 2**32 - 1


def check_seed(name: str, value: Any) -> int:
    """Validate an agent's seed: an integer in [0, ``SEED_MAX``].

    Args:
        name: Parameter name used in the error message.
        value: The value to check (bools are rejected).

    Returns:
        The seed as a Python int.
    """
    return check_int(name, value, low=0, high=SEED_MAX)


def check_field(config: Any, name: str, check: Callable[..., Any], **bounds: Any) -> None:
    """Validate field ``name`` of a frozen config dataclass in ``__post_init__``.

    ``check(name, value, **bounds)`` is one of the :mod:`crm_envs.core.params` helpers (or
    :func:`check_seed`); it raises on a bad value, and the field is set to
    the value it returns (a plain Python number), so configs save to JSON.

    Args:
        config: The dataclass instance.
        name: The field's name.
        check: The validating function.
        **bounds: Its keyword arguments (``low``, ``high``...).
    """
    object.__setattr__(config, name, check(name, getattr(config, name), **bounds))


def check_env(env: Any, who: str) -> gym.Env:
    """Raise ``TypeError`` unless ``env`` is a Gymnasium env (``who`` names the agent)."""
    if not isinstance(env, gym.Env):
        raise TypeError(f"{who} needs a gymnasium.Env (e.g. gym.make(id)), got {env!r}")
    return env


def check_learn_args(total_timesteps: Any, progress_bar: Any, callback: Any) -> int:
    """Validate the arguments every agent's ``learn`` takes; returns ``total_timesteps``.

    Args:
        total_timesteps: Env steps (an integer >= 1).
        progress_bar: True or False.
        callback: A callable or None.
    """
    total = check_int("total_timesteps", total_timesteps, low=1)
    check_bool("progress_bar", progress_bar)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {callback!r}")
    return total


def check_reward(reward: Any, who: str) -> float:
    """The env's reward as a float; ``ValueError`` if it is NaN or infinite.

    Learners would otherwise turn their tables into NaN silently. ``who`` names the learner.
    """
    r = float(reward)
    if not math.isfinite(r):
        raise ValueError(
            f"{who} got the reward {r} from the env; learning needs finite rewards (check the "
            "env and any reward wrapper)"
        )
    return r


class SavableAgent:
    """``save(path)`` / ``load(path)`` for agents whose state is a config plus numpy arrays.

    Subclasses keep their config dataclass in ``self.config`` and name their learned arrays
    in ``_arrays`` (attributes holding numpy arrays). An agent whose state is held otherwise
    (a torch network, say) overrides the two hooks instead: :meth:`_saved_arrays` (the
    learned state as named numpy arrays) and :meth:`_restore_arrays` (install arrays that
    passed the checks).

    The file format is one ``.npz`` archive holding exactly: ``__agent__`` (the agent's class
    name), ``__config__`` (the config as JSON) and one numeric array per entry of
    :meth:`_saved_arrays`, of the agent's own dtype (float64 for the numpy agents). Nothing
    is pickled, and :meth:`load` never unpickles.

    Path rule (the same for both methods): :meth:`save` writes ``path`` if it ends in ``.npz``
    and ``path + ".npz"`` otherwise (NumPy's rule); :meth:`load` reads ``path`` if that file
    exists, else ``path + ".npz"``. So ``save("model")`` then ``load("model")`` round-trips.

    :meth:`load` refuses, with a ``ValueError`` naming the file and what was expected: files
    that are not such an archive (corrupt, truncated, pickled, a bare ``.npy``), archives with
    missing or extra entries, a different agent class or config, arrays of the wrong dtype or
    shape (an agent built for a different env), and arrays holding NaN, infinities, negative
    visit counts or other values the agent could not have learned. Nothing is loaded unless
    everything passes.
    """

    _arrays: tuple[str, ...] = ()
    #: Arrays whose entries must be >= 0 (visit counts).
    _nonnegative: tuple[str, ...] = ("counts",)
    #: Arrays whose entries must be > 0 (precisions, Beta parameters).
    _positive: tuple[str, ...] = ()
    config: Any

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the agent's class, config (JSON) and learned arrays to one ``.npz`` file.

        Args:
            path: Target file; ``.npz`` is appended unless the name already ends with it.

        Returns:
            The path of the file written.
        """
        file = _npz_path(path)
        data: dict[str, Any] = dict(self._saved_arrays())
        data["__agent__"] = np.array(type(self).__name__)
        data["__config__"] = np.array(json.dumps(asdict(self.config)))
        np.savez(file, **data)
        return file

    def load(self, path: str | os.PathLike[str]) -> SavableAgent:
        """Restore learned arrays written by :meth:`save` (same class and config); returns self.

        Args:
            path: The file given to :meth:`save`: ``path`` itself if it exists, else
                ``path + ".npz"``.

        Returns:
            self, with its learned arrays replaced by the saved ones.

        Raises:
            FileNotFoundError: If neither ``path`` nor ``path + ".npz"`` is a file.
            ValueError: If the file is not a valid save of this agent (see the class docstring);
                the agent is then left unchanged.
        """
        file = _find_saved(path)
        cls = type(self).__name__
        current = self._saved_arrays()
        entries = ["__agent__", "__config__", *current]
        expected = f"a {cls}.save() file (an .npz archive with entries {entries})"
        raw = _read_npz(file, entries, expected, agent=cls)
        agent = raw.pop("__agent__")
        _check_agent(file, agent, cls)
        config_text = raw.pop("__config__")
        try:
            if config_text.shape != () or config_text.dtype.kind != "U":
                raise ValueError("not a JSON string")
            saved = json.loads(str(config_text))
        except ValueError:
            raise ValueError(
                f"{file}: __config__ must be the agent's config as a JSON string, "
                f"got {_short(config_text)}"
            ) from None
        mine = json.loads(json.dumps(asdict(self.config)))
        if saved != mine:
            raise ValueError(
                f"{file}: saved config {saved} differs from this agent's {mine}; "
                f"create the agent with the saved config: {cls}(env, **config)"
            )
        for name, arr in current.items():
            self._check_loaded(file, name, raw[name], arr)
        self._restore_arrays({name: raw[name] for name in current})
        return self

    def _saved_arrays(self) -> dict[str, NDArray[Any]]:
        """The learned state, as numpy arrays by entry name (what :meth:`save` writes).

        :meth:`load` checks a file against these: the same names, dtypes and shapes. The
        default reads the attributes named in ``_arrays``.
        """
        return {name: np.asarray(getattr(self, name)) for name in self._arrays}

    def _restore_arrays(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Install the arrays :meth:`load` read, once every one passed the checks.

        The default sets the attributes named in ``_arrays`` to copies of them.
        """
        for name, arr in arrays.items():
            setattr(self, name, arr.copy())

    def _check_loaded(
        self, file: Path, name: str, arr: NDArray[Any], current: NDArray[Any]
    ) -> None:
        """Raise ``ValueError`` unless ``arr`` could stand in for the array ``current``."""
        if arr.dtype != current.dtype:
            raise ValueError(
                f"{file}: saved {name} has dtype {arr.dtype}, expected {current.dtype}"
            )
        if arr.shape != current.shape:
            raise ValueError(
                f"{file}: saved {name} has shape {arr.shape}, expected {current.shape} "
                "(the file was saved for an env with other spaces)"
            )
        bad = np.argwhere(~np.isfinite(arr))
        if bad.size:
            idx = tuple(int(i) for i in bad[0])
            raise ValueError(
                f"{file}: saved {name} must be finite, found {arr[idx]} at index {idx} "
                f"({len(bad)} non-finite entries)"
            )
        if name in self._nonnegative:
            check_range_array(f"{file}: saved {name}", arr, 0.0, np.inf)
        if name in self._positive and arr.size and arr.min() <= 0:
            idx = tuple(int(i) for i in np.argwhere(arr <= 0)[0])
            raise ValueError(f"{file}: saved {name} must be > 0, found {arr[idx]} at {idx}")


def _short(arr: NDArray[Any]) -> str:
    text = repr(arr.item() if arr.shape == () else arr)
    return text if len(text) <= 80 else text[:77] + "..."


def _npz_path(path: Any) -> Path:
    """``path`` as :meth:`SavableAgent.save` writes it (``.npz`` appended if missing)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {path!r}")
    text = os.fspath(path)
    return Path(text if text.endswith(".npz") else text + ".npz")


def _find_saved(path: Any) -> Path:
    """The file :meth:`SavableAgent.load` reads: ``path``, else ``path + ".npz"``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {path!r}")
    tried = [Path(os.fspath(path)), _npz_path(path)]
    for file in tried:
        if file.is_file():
            return file
    names = " nor ".join(dict.fromkeys(str(f) for f in tried))
    raise FileNotFoundError(f"no saved agent at {path!s}: neither {names} is a file")


def _check_agent(file: Path, agent: NDArray[Any], cls: str) -> None:
    """Raise ``ValueError`` unless the ``__agent__`` entry ``agent`` names class ``cls``."""
    if agent.shape != () or agent.dtype.kind != "U" or str(agent) != cls:
        raise ValueError(f"{file} holds a saved {_short(agent)} agent, not a {cls}")


def _read_npz(file: Path, entries: list[str], expected: str, agent: str) -> dict[str, NDArray[Any]]:
    """Read exactly ``entries`` from an ``.npz`` archive, or raise a ``ValueError``.

    A readable ``__agent__`` entry naming another class than ``agent`` is reported as such,
    before the entries are compared (another agent's file has other entries).
    """
    try:
        data = np.load(file, allow_pickle=False)
    except EOFError:
        raise ValueError(f"{file} is empty or truncated; expected {expected}") from None
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{file} is a corrupt zip archive ({exc}); expected {expected}") from None
    except (ValueError, OSError):  # neither zip nor .npy: numpy would try to unpickle it
        raise ValueError(
            f"{file} is not an .npz archive (nor any NumPy file); expected {expected}"
        ) from None
    if not isinstance(data, NpzFile):
        raise ValueError(f"{file} holds a single array, not an archive; expected {expected}")
    with data:
        if "__agent__" in data.files:
            try:
                saved = data["__agent__"]
            except (ValueError, zipfile.BadZipFile, OSError, EOFError, zlib.error):
                pass  # reported with the entries below
            else:
                _check_agent(file, saved, agent)
        missing = [k for k in entries if k not in data.files]
        extra = sorted(set(data.files) - set(entries))
        if missing or extra:
            raise ValueError(
                f"{file} has entries {sorted(data.files)} (missing {missing}, unexpected "
                f"{extra}); expected {expected}"
            )
        out = {}
        for k in entries:
            try:
                out[k] = data[k]
            except ValueError as exc:
                if "allow_pickle" not in str(exc):
                    raise ValueError(
                        f"{file}: entry {k!r} is corrupt ({exc}); expected {expected}"
                    ) from None
                raise ValueError(
                    f"{file}: entry {k!r} holds pickled objects, which load never unpickles; "
                    f"expected {expected}"
                ) from None
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
                raise ValueError(
                    f"{file}: entry {k!r} is corrupt ({exc}); expected {expected}"
                ) from None
    return out


def config_from_kwargs(cls: type, kwargs: dict[str, Any]) -> Any:
    """Build config dataclass ``cls`` from keyword arguments, naming unknown ones."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        raise TypeError(f"unknown {cls.__name__} option(s) {unknown}; known: {sorted(names)}")
    return cls(**kwargs)


@dataclass(frozen=True)
class EvalResult:
    """Outcome of :func:`evaluate_policy`.

    Attributes:
        mean: Mean episode return.
        stderr: Standard error of the mean.
        returns: Every episode's return.
    """

    mean: float
    stderr: float
    returns: NDArray[np.float64]


def masked_action(model: Any, obs: Any, info: dict[str, Any], deterministic: bool = True) -> Any:
    """``model.predict``'s action given the env's ``info["action_mask"]`` as ``action_masks``.

    The way sb3-contrib's MaskablePPO acts on our envs, which report the valid actions in
    ``info`` (the benchmark harness and :func:`evaluate_policy` both act through this).
    """
    masks = np.asarray(info["action_mask"], dtype=bool)
    return model.predict(obs, action_masks=masks, deterministic=deterministic)[0]


def _takes_masks(predict: Callable[..., Any]) -> bool:
    """Whether ``predict`` names an ``action_masks`` parameter (False if it cannot be read)."""
    try:
        return "action_masks" in inspect.signature(predict).parameters
    except (TypeError, ValueError):  # some builtins and C callables have no signature
        return False


def evaluate_policy(
    agent_or_policy: Any,
    env: gym.Env | str,
    n_episodes: int = 100,
    seed: int = 0,
    deterministic: bool = True,
    use_masks: bool | None = None,
) -> EvalResult:
    """Run ``n_episodes`` episodes and report the mean return and its standard error.

    A model that acts under action masks (sb3-contrib's MaskablePPO) is given the env's
    ``info["action_mask"]`` at every step, as it was trained (:func:`masked_action`).

    Args:
        agent_or_policy: Anything with ``predict(obs, deterministic)`` (ours or SB3's), or a
            callable ``policy(obs) -> action``.
        env: A Gymnasium env or a registered id.
        n_episodes: Number of episodes (>= 1).
        seed: Episode ``i`` is reset with ``seed + i``.
        deterministic: Passed to ``predict``.
        use_masks: Pass ``info["action_mask"]`` to ``predict`` as ``action_masks``. None (the
            default): when ``predict`` names an ``action_masks`` parameter and the env reports
            a mask. A wrapper whose ``predict`` takes ``**kwargs`` needs ``True``.

    Returns:
        The :class:`EvalResult`.

    Raises:
        ValueError: ``use_masks=True`` and the env's info has no ``action_mask``.
    """
    n_episodes = check_int("n_episodes", n_episodes, low=1)
    seed = check_int("seed", seed, low=0)
    deterministic = check_bool("deterministic", deterministic)
    if use_masks is not None:
        use_masks = check_bool("use_masks", use_masks)
    if isinstance(env, str):
        env = gym.make(env)
    if hasattr(agent_or_policy, "predict"):
        model = agent_or_policy
        maskable = _takes_masks(model.predict) if use_masks is None else use_masks

        def act(obs: Any, info: dict[str, Any]) -> Any:
            if maskable and "action_mask" in info:
                return masked_action(model, obs, info, deterministic)
            if use_masks:
                raise ValueError("use_masks=True, but the env's info has no 'action_mask'")
            return model.predict(obs, deterministic=deterministic)[0]
    elif callable(agent_or_policy):
        if use_masks:
            raise ValueError("use_masks=True needs a model with predict(obs, action_masks=...)")

        def act(obs: Any, info: dict[str, Any]) -> Any:
            return agent_or_policy(obs)
    else:
        raise TypeError("agent_or_policy must have predict(obs, deterministic) or be callable")
    returns = play_episodes(env, act, n_episodes, seed)
    stderr = returns.std(ddof=1) / np.sqrt(n_episodes) if n_episodes > 1 else float("nan")
    return EvalResult(float(returns.mean()), float(stderr), returns)

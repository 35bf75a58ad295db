"""Reading a user's synthetic windows for ``latentquant synth evaluate``: NumPy ``.npy`` / ``.npz`` or a long Parquet
table, always as draws ``(k, n, L, F)``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from latentquant.exceptions import DataValidationError

__all__ = ["read_synthetic", "split_draws"]

_LONG_KEYS = ("window", "step")


def _from_long(frame: pd.DataFrame, path: Path) -> np.ndarray:
    missing = [c for c in _LONG_KEYS if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{path}: a long table needs the columns {list(_LONG_KEYS)} (and optionally "
                                  f"'draw'), one row per window step, and one numeric column per feature; missing "
                                  f"{missing}.")
    keys = (["draw"] if "draw" in frame.columns else []) + list(_LONG_KEYS)
    features = [c for c in frame.columns if c not in keys]
    bad = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    if not features or bad:
        raise DataValidationError(f"{path}: feature columns must be numeric; non-numeric: {bad or 'none given'}.")
    if frame.duplicated(keys).any():
        raise DataValidationError(f"{path}: repeated {tuple(keys)} rows; each window step must appear once.")
    frame = frame.sort_values(keys)
    if "draw" not in frame.columns:
        frame = frame.assign(draw=0)
    sizes = frame.groupby(["draw", "window"]).size()
    if sizes.nunique() != 1:
        raise DataValidationError(f"{path}: windows have different numbers of steps ({sorted(sizes.unique())[:5]}); "
                                  "every window must be equally long.")
    per_draw = frame.groupby("draw")["window"].nunique()
    if per_draw.nunique() != 1:
        raise DataValidationError(f"{path}: draws hold different numbers of windows ({per_draw.to_dict()}).")
    k, n, length = len(per_draw), int(per_draw.iloc[0]), int(sizes.iloc[0])
    return frame[features].to_numpy(np.float64).reshape(k, n, length, len(features))


def read_synthetic(path: str | Path) -> np.ndarray:
    """Synthetic windows from ``path`` as draws ``(k, n, L, F)`` (a single set is one draw).

    ``.npy``: an array ``(n, L, F)`` or ``(k, n, L, F)``; ``.npz``: the same under the key ``draws`` or
    ``windows`` (or the only array); ``.parquet``: a long table with columns ``window``, ``step``, optionally
    ``draw``, and one numeric column per feature.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    numpy.ndarray
        Float64, 4-D.
    """
    p = Path(path)
    if not p.is_file():
        raise DataValidationError(f"--synthetic {p}: file not found.")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        arr = np.load(p, allow_pickle=False)
    elif suffix == ".npz":
        with np.load(p, allow_pickle=False) as z:
            keys = [k for k in ("draws", "windows") if k in z.files] or (z.files if len(z.files) == 1 else [])
            if not keys:
                raise DataValidationError(f"{p}: an .npz file must hold one array, or arrays named 'draws' or "
                                          f"'windows'; it holds {z.files}.")
            arr = z[keys[0]]
    elif suffix in (".parquet", ".pq"):
        arr = _from_long(pd.read_parquet(p), p)
    else:
        raise DataValidationError(f"{p}: unknown file type {suffix!r}; use .npy, .npz or .parquet.")
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise DataValidationError(f"{p}: synthetic windows must be shaped (n, length, features) or (draws, n, "
                                  f"length, features); got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise DataValidationError(f"{p}: {int((~np.isfinite(arr)).sum())} NaN/inf value(s) in the synthetic "
                                  "windows; fix the generator or drop those windows.")
    return arr


def split_draws(draws: np.ndarray, n: int, n_draws: int | None) -> np.ndarray:
    """``n_draws`` draws of ``n`` windows: the first draws of a 4-D set, or consecutive chunks of ``n`` windows of a
    single set (the whole set as one draw when it has fewer than ``n`` windows).

    Parameters
    ----------
    draws : numpy.ndarray
        ``(k, m, L, F)``.
    n : int
        Windows per draw wanted (the real test windows).
    n_draws : int or None
        Draws wanted (``None``: as many as there are).

    Returns
    -------
    numpy.ndarray
        ``(k', m', L, F)``.
    """
    if draws.shape[0] > 1:
        return draws[: n_draws or draws.shape[0]]
    one = draws[0]
    available = len(one) // n
    if available == 0:
        return draws
    k = min(n_draws or available, available)
    return one[: k * n].reshape(k, n, *one.shape[1:])

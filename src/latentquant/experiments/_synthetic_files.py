"""``latentquant synth evaluate``: a user's synthetic windows (NumPy ``.npy`` / ``.npz`` or a long Parquet table,
read as draws ``(k, n, L, F)``) scored against held-out real windows (:func:`evaluate_file`, re-exported by
:mod:`latentquant.experiments.synthetic`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentquant.evaluation.synthetic import evaluate_synthetic
from latentquant.exceptions import DataValidationError
from latentquant.experiments._synthetic_report import score_metrics, write_scores
from latentquant.experiments._synthetic_tasks import REFERENCE, reference_draws, split_windows
from latentquant.reports import RunDirectory, data_fingerprint
from latentquant.reports import synthetic_figures as sfigs

__all__ = ["evaluate_file", "read_synthetic", "split_draws"]

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


def evaluate_file(real: str, synthetic: str, *, n_draws: int | None = None, test_size: float = 0.2,
                  log_returns: bool = False, columns: list[str] | None = None, return_feature: str | int = 0,
                  seed: int = 0, epochs: int | None = None, convention: str = "latentquant",
                  out: str = "runs/synth-evaluate", verbose: bool | None = None) -> Any:
    """Evaluate a user's synthetic windows (a file) against the held-out windows of real data, with the same scores,
    distances and facts as :func:`run`, and write a run directory.

    The real data (a bundled dataset name or a file of dates × features) are cut into windows as long as the
    synthetic ones; the last ``test_size`` share of the rows is the test span the synthetic windows are scored
    against, and windows drawn from the training span give the *real: training span* reference row.

    Parameters
    ----------
    real : str
        A bundled dataset name or a CSV/Parquet file.
    synthetic : str
        ``.npy`` / ``.npz`` / ``.parquet`` file of synthetic windows (see
        :func:`latentquant.experiments._synthetic_files.read_synthetic`), in the units of the real features.
    n_draws : int or None
        Draws to score (``None``: every draw in the file, or as many test-span-sized chunks as a single set holds).
    test_size : float
        Share of the real rows in the test span.
    log_returns : bool
        Take log differences of the real series first.
    columns : list of str or None
        Real features to keep, in the order of the synthetic features.
    return_feature : str or int
        The returns feature.
    seed : int
        Seed of the networks and tests.
    epochs : int or None
        Epochs of the post-hoc networks.
    convention : {"latentquant", "timegan"}
        Convention of the post-hoc networks.
    out : str
        The run directory.
    verbose : bool or None
        ``False`` silences the progress lines.

    Returns
    -------
    SynthStudyResult

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "synthetic.npy")
    >>> np.save(path, np.zeros((100, 20, 2)))
    >>> result = evaluate_file("spx_generation", path, out="runs/eval")  # doctest: +SKIP
    >>> evaluate_file("spx_generation", "no-such-file.npy")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: --synthetic no-such-file.npy: file not found.
    """
    from latentquant.datasets import list_datasets
    from latentquant.experiments.synthetic import SynthStudyConfig, SynthStudyResult, _feature, _load

    t0 = time.perf_counter()
    bundled = real in set(list_datasets()["name"])
    cfg = SynthStudyConfig(data=real if bundled else None, path=None if bundled else real, columns=columns,
                           log_returns=log_returns, return_feature=return_feature, test_size=test_size,
                           n_draws=n_draws or 1, seed=seed, epochs=epochs, convention=convention, out=out,
                           verbose=verbose, calibration_alphas=[])
    cfg.validate()
    raw = read_synthetic(synthetic)
    frame, source = _load(cfg)
    names = [str(c) for c in frame.columns]
    if raw.shape[3] != len(names):
        raise DataValidationError(f"the synthetic windows have {raw.shape[3]} feature(s) but the real data "
                                  f"{len(names)} ({names}); pick the real features with --columns.")
    train_w, test_w, _ = split_windows(frame, raw.shape[2], test_size)
    draws = split_draws(raw, len(test_w), n_draws)
    f = _feature(return_feature, names)
    eval_kw: dict[str, Any] = {"features": names, "return_feature": f, "seed": seed, "epochs": epochs,
                               "convention": convention}
    reference = reference_draws(train_w, len(test_w), len(draws), seed)
    reports = {REFERENCE: evaluate_synthetic(test_w, reference, name=REFERENCE, **eval_kw),
               "synthetic": evaluate_synthetic(test_w, draws, name="synthetic", **eval_kw)}
    metrics = {"source": source, "synthetic_file": str(synthetic), "features": names, "length": raw.shape[2],
               "n_test_windows": len(test_w), "n_draws": len(draws), "windows_per_draw": draws.shape[1],
               **score_metrics(reports, len(draws))}
    run_dir = RunDirectory(out, title=f"Synthetic windows from {Path(synthetic).name} vs {source}", started=t0)
    run_dir.section("Setup", f"Synthetic: {synthetic}, {len(draws)} draw(s) of {draws.shape[1]} windows × "
                    f"{raw.shape[2]} steps × {raw.shape[3]} features. Real: {source}, the last {test_size:.0%} of the "
                    f"rows ({len(test_w)} windows); '{REFERENCE}' = as many windows drawn from the earlier rows.")
    tables = write_scores(run_dir, reports, test_w, {"synthetic": draws[0]}, names[f], seed)
    run_dir.save_figure("densities", sfigs.plot_return_densities(
        {"real: test span": test_w[..., f], "synthetic": draws[..., f]}, xlabel=names[f]),
        f"Distribution of {names[f]} within the windows (log-scale density)")
    run_dir.finish(config={**cfg.to_dict(), "synthetic": str(synthetic)}, metrics=metrics,
                   manifest={"data_source": source, "data_fingerprint": data_fingerprint(frame)})
    return SynthStudyResult(path=run_dir.path, metrics=metrics, tables=tables)

"""The whole evaluation of a synthetic data set in one call, repeated over many draws, and its calibration.

:func:`evaluate_synthetic` sets ``k`` synthetic draws beside held-out real windows and computes, per draw, the
discriminative and predictive scores (:mod:`~latentquant.evaluation.synthetic._scores`, the ``k`` post-hoc networks
trained as one batched model) and the distances (:mod:`~latentquant.evaluation.synthetic._distances`), and once the
stylized facts of the real and of the pooled synthetic returns. The result, :class:`SyntheticReport`, holds the
per-draw table with its mean, standard deviation and quartiles.

:func:`noise_calibration` checks the instruments themselves: real windows plus ``α·N(0, 1)`` noise (in units of each
feature's standard deviation) must score worse as ``α`` grows, and two disjoint real samples must pass the MMD test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from latentquant.evaluation.synthetic._distances import (
    correlation_distance,
    ks_test,
    mmd_test,
    quantgan_scores,
    wasserstein_returns,
)
from latentquant.evaluation.synthetic._scores import discriminative_scores, predictive_scores
from latentquant.evaluation.synthetic._stylized import stylized_facts
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.validation import Interval, Options, SequenceOf, check_arg

__all__ = ["SyntheticReport", "evaluate_synthetic", "noise_calibration"]

#: headline metrics, in the order tables show them, with the direction that is better
HEADLINE = {
    "disc_auc": "AUC of the post-hoc classifier (0.5 best)",
    "disc_score": "|accuracy − 0.5| (0 best)",
    "tstr_mae": "MAE of the regressor trained on synthetic, tested on real (lower better)",
    "trtr_mae": "MAE of the same regressor trained on real (the baseline)",
    "tstr_trtr_ratio": "TSTR / TRTR MAE (1 best)",
    "w1_1": "Wasserstein-1 of 1-period returns (0 best)",
    "ks_stat": "Kolmogorov–Smirnov statistic of 1-period returns (0 best)",
    "acf_abs_score": "QuantGAN ACF score of |r| (0 best)",
    "leverage_score": "QuantGAN leverage score (0 best)",
    "mmd2": "MMD² of whole windows (0 best)",
    "mmd_pvalue": "MMD permutation p-value (large: not distinguishable)",
}


def _as_windows(data: Any, name: str) -> np.ndarray:
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim != 3:
        raise DataValidationError(f"{name} must be windows shaped (n, length, features), got an array of shape "
                                  f"{arr.shape}; cut a series with latentquant.data.sliding_windows(frame, length).")
    if not np.isfinite(arr).all():
        raise DataValidationError(f"{name} holds {int((~np.isfinite(arr)).sum())} NaN/inf value(s); drop or repair "
                                  "those windows first.")
    return arr


def _as_draws(data: Any) -> np.ndarray:
    arr = np.stack([np.asarray(d, dtype=np.float64) for d in data]) if isinstance(data, (list, tuple)) \
        else np.asarray(data, dtype=np.float64)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise DataValidationError(f"synthetic_draws must be (k, n, length, features) or a list of (n, length, "
                                  f"features) windows, got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        bad = sorted({int(i) for i in np.nonzero(~np.isfinite(arr))[0]})
        raise DataValidationError(f"synthetic draw(s) {bad[:5]} hold NaN/inf values; a generator that produces "
                                  "them is broken: fix it or drop those draws.")
    return arr


def _feature_index(value: int | str, names: Sequence[str]) -> int:
    if isinstance(value, str):
        if value not in names:
            raise ConfigError(f"return_feature {value!r} is not a feature; features: {list(names)}.")
        return list(names).index(value)
    if not 0 <= int(value) < len(names):
        raise ConfigError(f"return_feature must be in 0..{len(names) - 1}, got {value}.")
    return int(value)


@dataclass(frozen=True)
class SyntheticReport:
    """Everything :func:`evaluate_synthetic` measured for one synthetic data set.

    Attributes
    ----------
    name : str
        Label of the synthetic set (a generator's name).
    per_draw : pandas.DataFrame
        One row per draw (index ``draw``): ``disc_auc``, ``disc_accuracy``, ``disc_score``, ``tstr_mae``,
        ``trtr_mae``, ``tstr_mse``, ``trtr_mse``, ``tstr_trtr_ratio``, ``w1_<h>`` per horizon, ``ks_stat``,
        ``acf_r_score``, ``acf_abs_score``, ``acf_sq_score``, ``leverage_score``, ``mmd2``, ``mmd_pvalue`` and
        ``corr_distance`` (several features). Distances refer to the return feature; the scores and the MMD to
        whole windows.
    real_facts, synthetic_facts : pandas.DataFrame
        :meth:`StylizedFacts.to_frame` of the real windows' returns and of the pooled synthetic draws' returns.
    features : tuple of str
        Feature names; ``return_feature`` is the one the distances and facts use.
    return_feature : str
        The returns feature.
    n_windows, length : int
        Real windows and their length.
    convention : str
        Convention of the post-hoc networks.
    seed : int
        Seed of the networks and of the tests.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> real = rng.standard_t(5, size=(120, 10, 1)) * 0.01
    >>> draws = rng.standard_t(5, size=(3, 120, 10, 1)) * 0.01
    >>> rep = evaluate_synthetic(real, draws, epochs=2, n_boot=100, mmd_permutations=50)
    >>> rep.per_draw.shape[0], "disc_auc" in rep.describe().index
    (3, True)
    """

    name: str
    per_draw: pd.DataFrame
    real_facts: pd.DataFrame
    synthetic_facts: pd.DataFrame
    features: tuple[str, ...]
    return_feature: str
    n_windows: int
    length: int
    convention: str
    seed: int

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`per_draw`."""
        return self.per_draw.copy()

    def describe(self) -> pd.DataFrame:
        """Metrics × ``n``, ``mean``, ``std`` (ddof 1; empty for one draw), ``25%``, ``50%``, ``75%``."""
        frame = self.per_draw
        table = pd.DataFrame({"n": len(frame), "mean": frame.mean(),
                              "std": frame.std(ddof=1) if len(frame) > 1 else np.nan})
        return table.join(frame.quantile([0.25, 0.5, 0.75]).T.rename(columns=lambda q: f"{q:.0%}"))

    def headline(self) -> pd.Series:
        """Mean over the draws of the headline metrics (:data:`HEADLINE`)."""
        return self.per_draw[[c for c in HEADLINE if c in self.per_draw]].mean()

    def summary(self) -> str:
        """Headline metrics, mean ± std over the draws, as text."""
        d = self.describe().to_dict(orient="index")
        lines = [f"{self.name}: {len(self.per_draw)} draw(s) of {self.n_windows} windows × {self.length} steps vs "
                 f"real ({self.convention} post-hoc networks, seed {self.seed})"]
        for key, what in HEADLINE.items():
            if key in d:
                mean, std = float(d[key]["mean"]), float(d[key]["std"])
                spread = f" ± {std:.4f}" if np.isfinite(std) else ""
                lines.append(f"  {key:<16} {mean:.4f}{spread}   {what}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the per-draw rows, the :meth:`describe` table and the facts (``None`` for missing values)."""
        def clean(frame: pd.DataFrame) -> Any:
            return frame.astype(object).where(frame.notna(), None).reset_index().to_dict(orient="records")

        return {"name": self.name, "features": list(self.features), "return_feature": self.return_feature,
                "n_windows": self.n_windows, "length": self.length, "convention": self.convention, "seed": self.seed,
                "per_draw": clean(self.per_draw), "describe": clean(self.describe()),
                "real_facts": clean(self.real_facts), "synthetic_facts": clean(self.synthetic_facts)}


def _distances(real: np.ndarray, draw: np.ndarray, f: int, horizons: list[int], mmd_samples: int,
               mmd_permutations: int, rng: np.random.Generator, seed: int) -> dict[str, float]:
    r, s = real[..., f], draw[..., f]
    row: dict[str, float] = {}
    w1 = wasserstein_returns(r[..., None], s[..., None], horizons=horizons).iloc[:, 0]
    row.update({f"w1_{h}": float(v) for h, v in w1.items()})
    row["ks_stat"] = float(ks_test(r[..., None], s[..., None]).iloc[0]["statistic"])
    q = quantgan_scores(r[..., None], s[..., None]).iloc[:, 0]
    row.update({"acf_r_score": float(q["acf_r"]), "acf_abs_score": float(q["acf_abs"]),
                "acf_sq_score": float(q["acf_sq"]), "leverage_score": float(q["leverage"])})
    flat_r, flat_s = real.reshape(len(real), -1), draw.reshape(len(draw), -1)
    pick_r = rng.choice(len(flat_r), size=min(mmd_samples, len(flat_r)), replace=False)
    pick_s = rng.choice(len(flat_s), size=min(mmd_samples, len(flat_s)), replace=False)
    scale = flat_r.std(axis=0)
    scale[scale == 0] = 1.0
    mmd = mmd_test(flat_r[pick_r] / scale, flat_s[pick_s] / scale, n_permutations=mmd_permutations, seed=seed)
    row.update({"mmd2": mmd.statistic, "mmd_pvalue": mmd.pvalue})
    if real.shape[2] > 1:
        row["corr_distance"] = correlation_distance(real, draw).distance
    return row


def evaluate_synthetic(real: Any, synthetic_draws: Any, *, name: str = "synthetic",
                       features: Sequence[str] | None = None, return_feature: int | str = 0, seed: int = 0,
                       epochs: int | None = None, convention: str = "latentquant",
                       horizons: Sequence[int] | None = None, mmd_samples: int = 500, mmd_permutations: int = 200,
                       n_boot: int = 500, facts: bool = True) -> SyntheticReport:
    """Score ``k`` synthetic draws against held-out real windows: discriminative and predictive scores, distances and
    stylized facts, each draw separately, with mean, standard deviation and quartiles over the draws.

    Parameters
    ----------
    real : array-like, shape (n, L, F)
        Real windows in time order, held out from whatever the generator was fitted on.
    synthetic_draws : array-like, shape (k, m, L, F), or list of k arrays (m, L, F)
        The synthetic draws (in the units of ``real``); ``m`` need not equal ``n``.
    name : str
        Label of the synthetic set in the report.
    features : sequence of str, optional
        Feature names (default ``f0, f1, …``).
    return_feature : int or str
        The feature holding (log) returns: the distances and stylized facts are computed on it.
    seed : int
        Seed of the post-hoc networks, the MMD subsamples and permutations, and the bootstrap.
    epochs : int, optional
        Epochs of the post-hoc networks (default: their function's default).
    convention : {"latentquant", "timegan"}
        Convention of the post-hoc networks (:func:`discriminative_score`).
    horizons : sequence of int, optional
        Horizons of the Wasserstein distances (default 1, 5 and 20 periods, capped at ``L``).
    mmd_samples : int
        Windows per set in the MMD test (the kernel matrix grows with its square).
    mmd_permutations : int
        Permutations of the MMD test.
    n_boot : int
        Bootstrap resamples of the stylized facts' intervals (at least 100).
    facts : bool
        Compute the stylized facts (``False``: the two facts tables are empty).

    Returns
    -------
    SyntheticReport

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> real = rng.normal(size=(100, 8, 2))
    >>> rep = evaluate_synthetic(real, [real, real], epochs=2, n_boot=100, mmd_permutations=50)
    >>> float(rep.per_draw[["w1_1", "ks_stat", "acf_abs_score"]].abs().max().max())  # identical sets: 0
    0.0
    """
    check_arg("convention", convention, Options("latentquant", "timegan"))
    check_arg("mmd_samples", mmd_samples, Interval(Integral, 10, None))
    check_arg("mmd_permutations", mmd_permutations, Interval(Integral, 10, None))
    check_arg("n_boot", n_boot, Interval(Integral, 100, None))
    check_arg("facts", facts, "boolean")
    if horizons is not None:
        check_arg("horizons", horizons, SequenceOf(Interval(Integral, 1, None)))
    r = _as_windows(real, "real")
    draws = _as_draws(synthetic_draws)
    if draws.shape[2:] != r.shape[1:]:
        raise DataValidationError(f"synthetic windows are {draws.shape[2]} steps × {draws.shape[3]} features but the "
                                  f"real ones {r.shape[1]} × {r.shape[2]}; generate windows of the real shape.")
    names = tuple(features) if features is not None else tuple(f"f{i}" for i in range(r.shape[2]))
    if len(names) != r.shape[2]:
        raise ConfigError(f"features names {len(names)} feature(s) but the windows have {r.shape[2]}.")
    f = _feature_index(return_feature, names)
    length = r.shape[1]
    hs = sorted({h for h in (horizons or (1, 5, 20)) if h <= length})
    if not hs:
        raise ConfigError(f"every horizon in {list(horizons or [])} is longer than the windows ({length} steps).")

    disc = discriminative_scores(r, draws, seed=seed, epochs=epochs, convention=convention)  # type: ignore[arg-type]
    pred = predictive_scores(r, draws, seed=seed, epochs=epochs, convention=convention)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    rows = []
    for j, draw in enumerate(draws):
        d, p = disc.draws[j], pred.draws[j]
        row = {"disc_auc": d.auc, "disc_accuracy": d.accuracy, "disc_score": d.score, "tstr_mae": p.tstr_mae,
               "trtr_mae": p.trtr_mae, "tstr_mse": p.tstr_mse, "trtr_mse": p.trtr_mse, "tstr_trtr_ratio": p.ratio}
        row.update(_distances(r, draw, f, hs, mmd_samples, mmd_permutations, rng, seed + j))
        rows.append(row)
    per_draw = pd.DataFrame(rows, index=pd.RangeIndex(len(rows), name="draw"))
    real_facts = synthetic_facts = pd.DataFrame()
    if facts:
        # windows of the return feature, (n, L, 1): facts pooled within windows
        real_facts = stylized_facts(r[..., f:f + 1], n_boot=n_boot, seed=seed).to_frame()
        synthetic_facts = stylized_facts(draws[..., f:f + 1].reshape(-1, length, 1), n_boot=n_boot,
                                         seed=seed).to_frame()
    return SyntheticReport(name=name, per_draw=per_draw, real_facts=real_facts, synthetic_facts=synthetic_facts,
                           features=names, return_feature=names[f], n_windows=len(r), length=length,
                           convention=convention, seed=int(seed))


def noise_calibration(real: Any, *, alphas: Sequence[float] = (0.0, 0.1, 0.3, 0.6), n_draws: int = 5, seed: int = 0,
                      epochs: int | None = None, mmd_samples: int = 300, mmd_permutations: int = 200,
                      n_splits: int = 20) -> pd.DataFrame:
    """Do the instruments see what they should? Scores of real windows against the same windows plus noise.

    For each ``α`` the "synthetic" draws are the real windows plus ``α·σ_f·N(0, 1)`` noise (``σ_f`` each feature's
    standard deviation), ``n_draws`` times; the discriminative AUC, ``|accuracy − 0.5|``, the TSTR/TRTR ratio and the
    MMD² must grow with ``α`` (at ``α = 0`` the sets are identical: AUC 0.5). A last row, ``real vs real``, runs the
    MMD test on ``n_splits`` pairs of disjoint random halves of the real windows: its rejection rate at 5% estimates
    the test's size (about 0.05 when the test is honest; neighbouring windows overlap, so it can be higher).

    Parameters
    ----------
    real : array-like, shape (n, L, F)
        Real windows in time order.
    alphas : sequence of float
        Noise levels, in standard deviations of each feature.
    n_draws : int
        Noisy draws per level (the mean over them is reported).
    seed : int
        Seed of the noise, the networks and the tests.
    epochs : int, optional
        Epochs of the post-hoc networks.
    mmd_samples : int
        Windows per set in the MMD tests.
    mmd_permutations : int
        Permutations of each MMD test.
    n_splits : int
        Disjoint real/real splits for the size of the MMD test.

    Returns
    -------
    pandas.DataFrame
        Rows ``α = …`` and ``real vs real``; columns ``disc_auc``, ``disc_score``, ``tstr_trtr_ratio``, ``mmd2``,
        ``mmd_reject_5pct`` (share of the tests with p < 0.05).

    Examples
    --------
    >>> import numpy as np
    >>> real = np.random.default_rng(0).normal(size=(150, 8, 1))
    >>> table = noise_calibration(real, alphas=(0.0, 1.0), n_draws=2, epochs=3, n_splits=4, mmd_permutations=50)
    >>> bool(table.loc["α = 1", "mmd2"] > table.loc["α = 0", "mmd2"])
    True
    """
    check_arg("alphas", alphas, SequenceOf(Interval(Real, 0, None)))
    check_arg("n_draws", n_draws, Interval(Integral, 1, None))
    check_arg("n_splits", n_splits, Interval(Integral, 1, None))
    r = _as_windows(real, "real")
    sd = r.reshape(-1, r.shape[2]).std(axis=0)
    rng = np.random.default_rng(seed)
    rows: dict[str, dict[str, float]] = {}
    for alpha in alphas:
        draws = r[None] + alpha * sd * rng.standard_normal((n_draws, *r.shape))
        rep = evaluate_synthetic(r, draws, seed=seed, epochs=epochs, mmd_samples=mmd_samples,
                                 mmd_permutations=mmd_permutations, facts=False)
        pd_ = rep.per_draw
        rows[f"α = {alpha:g}"] = {"disc_auc": float(pd_["disc_auc"].mean()),
                                  "disc_score": float(pd_["disc_score"].mean()),
                                  "tstr_trtr_ratio": float(pd_["tstr_trtr_ratio"].mean()),
                                  "mmd2": float(pd_["mmd2"].mean()),
                                  "mmd_reject_5pct": float((pd_["mmd_pvalue"] < 0.05).mean())}
    flat = r.reshape(len(r), -1) / np.where(r.reshape(len(r), -1).std(axis=0) > 0, r.reshape(len(r), -1).std(axis=0),
                                            1.0)
    half = min(mmd_samples, len(flat) // 2)
    if half < 10:
        raise DataValidationError(f"real has {len(flat)} windows; the real-vs-real MMD check needs at least 20.")
    results = []
    for i in range(n_splits):
        perm = rng.permutation(len(flat))
        results.append(mmd_test(flat[perm[:half]], flat[perm[half:2 * half]], n_permutations=mmd_permutations,
                                seed=seed + i))
    rows["real vs real"] = {"disc_auc": np.nan, "disc_score": np.nan, "tstr_trtr_ratio": np.nan,
                            "mmd2": float(np.mean([m.statistic for m in results])),
                            "mmd_reject_5pct": float(np.mean([m.pvalue < 0.05 for m in results]))}
    return pd.DataFrame(rows).T

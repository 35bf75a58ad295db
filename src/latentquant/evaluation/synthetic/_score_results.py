"""Result objects of the post-hoc scores (:mod:`latentquant.evaluation.synthetic._scores`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import pandas as pd

from latentquant.evaluation._results import FieldsResult
from latentquant.validation import Options, check_arg

__all__ = ["DiscriminativeScore", "PredictiveScore", "RepeatedScores"]


# --------------------------------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiscriminativeScore(FieldsResult):
    """How well a post-hoc recurrent classifier tells real from synthetic windows (see :func:`discriminative_score`).

    Attributes
    ----------
    auc : float
        Area under the ROC curve on the test windows (0.5: indistinguishable, 1: perfectly separated).
    accuracy : float
        Balanced accuracy at probability 0.5 (mean of the hit rates on real and on synthetic test windows).
    score : float
        ``|accuracy − 0.5|``, TimeGAN's discriminative score (0 is best).
    convention : str
        ``"latentquant"`` or ``"timegan"``.
    cell : str
        Recurrent cell (``"gru"`` or ``"lstm"``).
    hidden, layers : int
        Hidden units and layers of the classifier.
    epochs, batch_size : int
        Passes over the pooled training windows and windows per step.
    n_real_train, n_real_test, n_synthetic_train, n_synthetic_test : int
        Windows of each set used for training and for testing.
    seed : int
        Seed of the initial weights, the batch order and (``"timegan"``) the random split.

    Examples
    --------
    >>> res = DiscriminativeScore(auc=0.61, accuracy=0.57, score=0.07, convention="latentquant", cell="gru",
    ...                           hidden=24, layers=1, epochs=20, batch_size=64, n_real_train=800,
    ...                           n_real_test=200, n_synthetic_train=800, n_synthetic_test=200, seed=0)
    >>> print(res)
    discriminative score 0.0700 (AUC 0.610, accuracy 0.570; latentquant convention, GRU 1×24)
    >>> res.to_dict()["auc"]
    0.61
    """

    _title: ClassVar[str] = "discriminative score"

    auc: float
    accuracy: float
    score: float
    convention: str
    cell: str
    hidden: int
    layers: int
    epochs: int
    batch_size: int
    n_real_train: int
    n_real_test: int
    n_synthetic_train: int
    n_synthetic_test: int
    seed: int

    def __str__(self) -> str:
        return (f"discriminative score {self.score:.4f} (AUC {self.auc:.3f}, accuracy {self.accuracy:.3f}; "
                f"{self.convention} convention, {self.cell.upper()} {self.layers}×{self.hidden})")


@dataclass(frozen=True)
class PredictiveScore(FieldsResult):
    """Train on synthetic, test on real (TSTR) against train on real, test on real (TRTR); see
    :func:`predictive_score`.

    Attributes
    ----------
    tstr_mae, tstr_mse : float
        Mean absolute and squared error on the real test windows of the network trained on synthetic windows.
    trtr_mae, trtr_mse : float
        The same for the network trained on real training windows (the baseline).
    ratio : float
        ``tstr_mae / trtr_mae`` (1: the synthetic data are as useful as the real ones; above 1: worse).
    convention : str
        ``"latentquant"`` (last step from the first ``L − 1``, standardised units) or ``"timegan"`` (next-step
        prediction of the last feature).
    cell : str
        Recurrent cell (``"gru"`` or ``"lstm"``).
    hidden, layers : int
        Hidden units and layers of the regressor.
    epochs, batch_size : int
        Passes over the training windows and windows per step (the same for TSTR and TRTR).
    n_real_train, n_synthetic_train, n_test : int
        Training windows of TRTR and of TSTR, and real test windows.
    seed : int
        Seed of the initial weights (the same for TSTR and TRTR) and of the batch order.

    Examples
    --------
    >>> res = PredictiveScore(tstr_mae=0.82, trtr_mae=0.80, tstr_mse=1.05, trtr_mse=1.01, ratio=1.025,
    ...                       convention="latentquant", cell="gru", hidden=24, layers=1, epochs=20, batch_size=64,
    ...                       n_real_train=800, n_synthetic_train=800, n_test=200, seed=0)
    >>> print(res)
    predictive score: TSTR MAE 0.8200 vs TRTR 0.8000 (ratio 1.025; MSE 1.05 vs 1.01; latentquant convention)
    """

    _title: ClassVar[str] = "predictive score"

    tstr_mae: float
    trtr_mae: float
    tstr_mse: float
    trtr_mse: float
    ratio: float
    convention: str
    cell: str
    hidden: int
    layers: int
    epochs: int
    batch_size: int
    n_real_train: int
    n_synthetic_train: int
    n_test: int
    seed: int

    def __str__(self) -> str:
        return (f"predictive score: TSTR MAE {self.tstr_mae:.4f} vs TRTR {self.trtr_mae:.4f} (ratio {self.ratio:.3f}; "
                f"MSE {self.tstr_mse:.3g} vs {self.trtr_mse:.3g}; {self.convention} convention)")


_DISC_METRICS = ("auc", "accuracy", "score")
_PRED_METRICS = ("tstr_mae", "trtr_mae", "tstr_mse", "trtr_mse", "ratio")


@dataclass(frozen=True)
class RepeatedScores:
    """One score per synthetic draw, with its mean, standard deviation and quartiles over the draws.

    Returned by :func:`discriminative_scores` and :func:`predictive_scores`.

    Attributes
    ----------
    draws : tuple of DiscriminativeScore or tuple of PredictiveScore
        The result of each draw, in the order of the draws.
    metrics : tuple of str
        The numeric fields summarised (``auc``, ``accuracy``, ``score``; or ``tstr_mae``, ``trtr_mae``, ``tstr_mse``,
        ``trtr_mse``, ``ratio``).

    Examples
    --------
    >>> draws = tuple(DiscriminativeScore(auc=a, accuracy=0.5 + s, score=s, convention="latentquant", cell="gru",
    ...                                   hidden=24, layers=1, epochs=20, batch_size=64, n_real_train=800,
    ...                                   n_real_test=200, n_synthetic_train=800, n_synthetic_test=200, seed=0)
    ...               for a, s in [(0.6, 0.05), (0.7, 0.15)])
    >>> rep = RepeatedScores(draws, ("auc", "accuracy", "score"))
    >>> round(float(rep.mean["auc"]), 3), round(float(rep.std["auc"]), 4)
    (0.65, 0.0707)
    >>> rep.describe().loc["score", ["mean", "25%", "75%"]].round(3).tolist()
    [0.1, 0.075, 0.125]
    """

    draws: tuple[Any, ...]
    metrics: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per draw (index ``draw``), one column per metric."""
        frame = pd.DataFrame([[getattr(d, m) for m in self.metrics] for d in self.draws], columns=list(self.metrics))
        frame.index.name = "draw"
        return frame

    @property
    def mean(self) -> pd.Series:
        """Mean of each metric over the draws."""
        return self.to_frame().mean()

    @property
    def std(self) -> pd.Series:
        """Sample standard deviation (ddof 1) of each metric over the draws; 0 for a single draw."""
        frame = self.to_frame()
        return frame.std(ddof=1) if len(frame) > 1 else frame.iloc[0] * 0.0

    @property
    def quartiles(self) -> pd.DataFrame:
        """25%, 50% and 75% quantiles of each metric (metrics × quantiles)."""
        return self.to_frame().quantile([0.25, 0.5, 0.75]).T.rename(columns=lambda q: f"{q:.0%}")

    def describe(self) -> pd.DataFrame:
        """Metrics × (``n``, ``mean``, ``std``, ``min``, ``25%``, ``50%``, ``75%``, ``max``)."""
        frame = self.to_frame()
        table = pd.DataFrame({"n": len(frame), "mean": self.mean, "std": self.std, "min": frame.min()})
        table = table.join(self.quartiles)
        table["max"] = frame.max()
        return table

    def summary(self, fmt: Literal["text", "html", "latex"] = "text") -> str:
        """The :meth:`describe` table with a title line, as text, HTML or LaTeX."""
        check_arg("fmt", fmt, Options("text", "html", "latex"))
        first = self.draws[0]
        title = (f"{type(first).__name__} over {len(self.draws)} synthetic draws ({first.convention} convention, "
                 f"{first.cell.upper()} {first.layers}×{first.hidden}, {first.epochs} epochs, seed {first.seed})")
        table = self.describe()
        if fmt == "html":
            return f"<p>{title}</p>\n{table.to_html(float_format=lambda v: f'{v:.4g}')}"
        if fmt == "latex":
            return table.to_latex(float_format="%.4g", caption=title)
        return f"{title}\n{table.to_string(float_format=lambda v: f'{v:.4g}')}"

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """Per-draw results (``draws``: list of their ``to_dict()``) and the summary table (``describe``)."""
        return {"draws": [d.to_dict() for d in self.draws], "metrics": list(self.metrics),
                "describe": {m: {k: float(v) for k, v in row.items()} for m, row in self.describe().iterrows()}}

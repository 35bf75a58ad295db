"""The config and result classes of the feature-selection study, its model names and its seed rule."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sklearn.base import RegressorMixin

from latentquant.exceptions import ConfigError
from latentquant.experiments._config import StudyConfig, StudyResult, section_options
from latentquant.experiments._data import STUDY_MISSING
from latentquant.experiments._selection_data import SPLITS as _SPLITS
from latentquant.models.selection import SELECTION_MODELS

__all__ = ["MODEL_NAMES", "SelectionStudyConfig", "SelectionStudyResult"]

#: The timing models of the study: the regressors of the selection registry, in its order.
MODEL_NAMES = tuple(name for name in SELECTION_MODELS if issubclass(SELECTION_MODELS.get(name), RegressorMixin))
_PRETRAINING: dict[str, Any] = {"enabled": True, "target": "AAPL", "models": ["self_attention", "vae_features"],
                                "seeds": [0, 1, 2, 3, 4], "fine_tune": {"epochs": 50, "lr": 3e-4}}
_SEMI: dict[str, Any] = {"enabled": True, "label_fraction": 0.05, "seeds": [0, 1, 2, 3, 4], "params": {}}


@dataclass
class SelectionStudyConfig(StudyConfig):
    """Every choice of the study (see the module docstring); YAML keys are these field names.

    Parameters
    ----------
    path : str or None
        A CSV/Parquet file of the user's daily prices to study instead of the bundled S&P 500: a date column and a
        ``close`` column (any case) or a single price column; ``high``, ``low`` and ``volume`` too for
        ``variant: ohlcv``. Read with :func:`~latentquant.datasets.load_prices_csv` and checked before any fit
        (daily dates, positive prices, enough dates shared with the bundled VIX and Treasury yields, which give the
        macro features). The pre-training experiment, which needs the bundled stocks, is skipped with a warning.
    missing : {"error", "drop"}, default "error"
        Missing values in ``path``'s file: an error naming each column's count, or drop those dates (counted in a
        warning).
    variant : {"close", "ohlcv"}, default "close"
        Indicators of the close (S&P 500: data to 2022), or also those needing high/low/volume (S&P 500: data to
        2018-12).
    lags : int, default 0
        Lagged copies of every feature added to the inputs.
    train, validation, test : list of str
        ``[start, end]`` dates of the three time-ordered spans (inclusive).
    models : list of str
        Timing models, names of :data:`MODEL_NAMES` (default: all).
    seeds : list of int, default 0..9
        Distinct seeds; every model is fitted once per seed.
    params : dict of str to dict
        Model name → keyword arguments of its estimator.
    threshold : float, default 0.0
        Go long when the predicted return is above it.
    cost_bps : float, default 0.0
        Cost in basis points per unit of position change.
    n_boot : int, default 2000
        Bootstrap replicates of the Sharpe confidence intervals and difference tests.
    pretraining : dict
        ``enabled``, ``target`` (a bundled stock), ``models``, ``seeds`` and ``fine_tune`` options of the
        pre-training experiment.
    semi_supervised : dict
        ``enabled``, ``label_fraction``, ``seeds`` and ``params`` of the semi-supervised VAE experiment.
    executor : {"local", "serial", "ray"}, default "local"
        Where the fits run (:func:`~latentquant.executors.run_tasks`).
    n_jobs : int or None
        Worker processes (``None``: one per CPU this process may use); each fit runs with a fixed thread count.
    ray_address : str or None
        Address of a Ray cluster for ``executor='ray'`` (``None``: a local Ray instance).
    out : str, default "runs/feature-selection"
        The run directory.
    verbose : bool or None
        ``False`` silences the progress lines on stderr.

    Examples
    --------
    >>> config = SelectionStudyConfig.from_dict({"models": ["ridge", "self_attention"], "seeds": [0, 1],
    ...                                          "pretraining": {"enabled": False}})
    >>> config.validate()
    >>> {name: str(start.date()) for name, (start, end) in config.spans().items()}
    {'train': '2005-01-01', 'validation': '2015-01-01', 'test': '2017-01-01'}
    >>> SelectionStudyConfig(train=["2005-01-01", "2015-06-30"]).validate()
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: the validation span must start after the train span ends (got train ending \
2015-06-30 and validation starting 2015-01-01); splits are time-ordered.
    """

    path: str | None = None
    missing: str = "error"
    variant: str = "close"
    lags: int = 0
    train: list[str] = field(default_factory=lambda: ["2005-01-01", "2014-12-31"])
    validation: list[str] = field(default_factory=lambda: ["2015-01-01", "2016-12-31"])
    test: list[str] = field(default_factory=lambda: ["2017-01-01", "2022-12-31"])
    models: list[str] = field(default_factory=lambda: list(MODEL_NAMES))
    seeds: list[int] = field(default_factory=lambda: list(range(10)))
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    threshold: float = 0.0
    cost_bps: float = 0.0
    n_boot: int = 2000
    pretraining: dict[str, Any] = field(default_factory=lambda: dict(_PRETRAINING))
    semi_supervised: dict[str, Any] = field(default_factory=lambda: dict(_SEMI))
    executor: str = "local"
    n_jobs: int | None = None
    ray_address: str | None = None
    out: str = "runs/feature-selection"
    verbose: bool | None = None

    def validate(self) -> None:
        if self.path is not None and (not isinstance(self.path, str) or not self.path.strip()):
            raise ConfigError(f"path must be the path of a CSV/Parquet file of daily prices (or null for the bundled "
                              f"S&P 500), got {self.path!r}.")
        if self.missing not in STUDY_MISSING:
            raise ConfigError(f"missing must be 'error' (stop at a missing price) or 'drop' (drop the dates with a "
                              f"missing price), got {self.missing!r}.")
        if self.variant not in ("close", "ohlcv"):
            raise ConfigError(f"variant must be 'close' (S&P 500 close, to 2022) or 'ohlcv' (open/high/low/close/"
                              f"volume, to 2018-12), got {self.variant!r}.")
        bad = [m for m in self.models if m not in MODEL_NAMES]
        if bad or not self.models:
            raise ConfigError(f"unknown model name(s) {bad} in models; choose from {list(MODEL_NAMES)}."
                              if bad else f"models must name at least one of {list(MODEL_NAMES)}.")
        if not isinstance(self.params, Mapping):
            section_options("params", self.params, MODEL_NAMES, "model names to model options")
        unknown = sorted(set(self.params) - set(MODEL_NAMES), key=str)
        if unknown:
            raise ConfigError(f"params has unknown model name(s) {unknown}; choose from {list(MODEL_NAMES)}.")
        for model, options in self.params.items():
            section_options(f"params.{model}", options, _model_keys(model), "model options")
        if not self.seeds or any(isinstance(v, bool) or not isinstance(v, int) for v in self.seeds) \
                or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds must be a non-empty list of distinct integers, got {self.seeds!r}.")
        if self.executor not in ("serial", "local", "ray"):
            raise ConfigError(f"executor must be 'serial', 'local' or 'ray', got {self.executor!r}.")
        if isinstance(self.lags, bool) or not isinstance(self.lags, int) or self.lags < 0:
            raise ConfigError(f"lags must be an integer >= 0, got {self.lags!r}.")
        if not isinstance(self.cost_bps, (int, float)) or not math.isfinite(self.cost_bps) or self.cost_bps < 0:
            raise ConfigError(f"cost_bps must be a number >= 0 (basis points per unit of position change), "
                              f"got {self.cost_bps!r}.")
        if isinstance(self.n_boot, bool) or not isinstance(self.n_boot, int) or self.n_boot < 100:
            raise ConfigError(f"n_boot must be an integer >= 100 (bootstrap replicates of the Sharpe intervals and "
                              f"tests), got {self.n_boot!r}; 2000 is a good default.")
        spans = self.spans()
        for a, b in itertools.pairwise(_SPLITS):
            end, start = spans[a][1], spans[b][0]
            if start <= end:
                raise ConfigError(f"the {b} span must start after the {a} span ends (got {a} ending "
                                  f"{end.date()} and {b} starting {start.date()}); splits are time-ordered.")
        for name, defaults in (("pretraining", _PRETRAINING), ("semi_supervised", _SEMI)):
            section_options(name, getattr(self, name), defaults)
        pre = {**_PRETRAINING, **self.pretraining}
        if not isinstance(pre["models"], list):
            raise ConfigError(f"pretraining.models must be a list of model names ('self_attention', "
                              f"'vae_features'), got {pre['models']!r}.")
        bad_pre = [m for m in pre["models"] if m not in ("self_attention", "vae_features")]
        if bad_pre:
            raise ConfigError(f"pretraining.models supports 'self_attention' and 'vae_features', got {bad_pre}.")
        fine_tune_keys = set().union(*(_model_keys(m) for m in pre["models"] or ("self_attention", "vae_features")))
        section_options("pretraining.fine_tune", pre["fine_tune"], fine_tune_keys, "model options")
        section_options("semi_supervised.params", self.semi_supervised.get("params", {}),
                        _model_keys("semi_supervised_vae"), "model options")
        frac = self.semi_supervised.get("label_fraction", 0.05)
        if not isinstance(frac, (int, float)) or not 0 < frac <= 1:
            raise ConfigError(f"semi_supervised.label_fraction must be in (0, 1], got {frac!r}.")

    def spans(self) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
        out: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
        for name in _SPLITS:
            value = getattr(self, name)
            try:
                start, end = (pd.Timestamp(v) for v in value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{name} must be a [start, end] pair of dates, got {value!r}.") from exc
            if end < start:
                raise ConfigError(f"{name} ends ({end.date()}) before it starts ({start.date()}).")
            out[name] = (start, end)
        return out


@dataclass(frozen=True)
class SelectionStudyResult(StudyResult):
    """What :func:`run` returns: the run directory, the headline metrics and the tables (``sharpe``, ``headline``,
    importance, pre-training and semi-supervised tables).

    Attributes
    ----------
    path : pathlib.Path
        The run directory.
    metrics : mapping
        Headline numbers, as in ``metrics.json`` (``seeds``, ``sharpe``, ``n_trials``, ...).
    tables : mapping of str to pandas.DataFrame
        The report's tables by name (read-only; :meth:`table` hands out copies).

    Examples
    --------
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> sharpe = pd.DataFrame({"sharpe_test_mean": [0.9, 0.4, 0.7]}, index=["self_attention", "ridge", "buy_and_hold"])
    >>> result = SelectionStudyResult(path=Path("runs/fs"), metrics={"seeds": [0, 1]}, tables={"sharpe": sharpe})
    >>> print(result.summary())
    2 models × 2 seeds; best mean test Sharpe (rf=0, √252): self_attention 0.90 vs buy-and-hold 0.70; report: \
runs/fs/report.html
    """

    def summary(self) -> str:
        test = self.tables["sharpe"]["sharpe_test_mean"]
        models = test.drop("buy_and_hold")
        best = str(models.idxmax())
        return (f"{len(models)} models × {len(self.metrics['seeds'])} seeds; best mean test Sharpe (rf=0, √252): "
                f"{best} {models.max():.2f} vs buy-and-hold {test['buy_and_hold']:.2f}; report: {self.report}")


def _model_keys(name: str) -> list[str]:
    """The constructor parameters of the selection model ``name`` (old spellings included)."""
    cls = SELECTION_MODELS.get(name)
    return sorted(set(SELECTION_MODELS.params(name)) | set(getattr(cls, "_renamed_params", {})))


def _seeds_of(cfg: SelectionStudyConfig, model: str) -> list[int]:
    """Every seed, or the first one alone for a model without randomness (one fit)."""
    return list(cfg.seeds) if "seed" in SELECTION_MODELS.params(model) else [cfg.seeds[0]]


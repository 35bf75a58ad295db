"""Study: the VAE factor model on one or more universes of assets, evaluated out of sample.

For each universe (e.g. 20 S&P 500 stocks, or BTC/ETH/LTC), with a time-ordered split and nothing fitted on the test
span:

1. :class:`~latentquant.models.VAEFactorModel` per seed (standardisation and early stopping on the training span);
   the first seed's model is the one shown in figures and saved;
2. explained variance on the test span for K = 1..8 factors: VAE vs a linear autoencoder vs PCA, mean ± std over
   seeds;
3. disentanglement: latent correlations, KL per factor and active units, traversals, and long-short portfolios sorted
   on each factor's loadings (Sharpe with 95% CI); a β sweep of these numbers;
4. scenarios vs the held-out test span (moments, correlation distance, tails, VaR/ES); stressed scenarios from the
   latent distribution of a named crisis, with a fan chart against the realised crisis path;
5. risk decomposition of the equal-weight portfolio, linearised (Euler) and by Monte Carlo through the decoder.

Everything lands in one run directory with a self-contained ``report.html``
(see :class:`~latentquant.reports.RunDirectory`). Orchestration only: the maths lives in the model
(:class:`~latentquant.models.VAEFactorModel`) and in :mod:`latentquant.evaluation` (benchmarks, scenario quality,
long-short books, horizon comparison).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from numbers import Integral, Real
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from latentquant._io import atomic_write
from latentquant.data import Standardizer, split_by_date
from latentquant.evaluation import (
    active_units,
    annualised_moments,
    gaussian_scenarios,
    horizon_comparison,
    latent_correlation,
    linear_autoencoder_benchmark,
    loading_discrepancy,
    loading_sorted_books,
    mean_std,
    pca_benchmark,
    scenario_quality,
)
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.experiments._config import StudyConfig, StudyResult, study_options
from latentquant.experiments._data import STUDY_INPUTS, STUDY_MISSING, load_study_returns
from latentquant.models.factor import VAEFactorModel
from latentquant.reports import RunDirectory, data_fingerprint, format_mean_std
from latentquant.reports import figures as figs
from latentquant.reports.rundir import check_path_name
from latentquant.validation import Interval, Options, SequenceOf, check_arg

__all__ = ["FactorStudyConfig", "FactorStudyResult", "Universe", "fit_and_save", "run"]


@dataclass
class Universe:
    """One set of assets and its spans. ``data`` names a bundled dataset (prices); ``path`` a user file holding
    ``input`` ('prices', 'log_returns' or 'returns').

    Parameters
    ----------
    name : str, default "stocks"
        Label of the universe in tables, figures and metrics (unique within a study). It names files and folders of
        the run directory, so it must be a plain file name: not empty, no ``/``, ``\\`` or ``:``, not ``..``.
    data : str or None, default "sp500_stocks"
        A bundled dataset of prices; give exactly one of ``data`` and ``path`` (a mapping given to
        :meth:`FactorStudyConfig.from_dict` with only ``path`` leaves ``data`` unset).
    path : str or None
        A user CSV/Parquet file.
    input : {"prices", "log_returns", "returns"}, default "prices"
        What the file holds (simple returns are converted with ``log1p``).
    missing : {"error", "drop"} or None
        Missing values of the data: an error naming each column's count, or drop the dates where any column is
        missing (``None``: drop for a bundled dataset, error for a user file).
    min_history : int or None
        Drop the assets with fewer values than this first (assets that start late), so the others keep their span.
    value_column : str or None
        The value column of a long-layout file (``date, ticker, price, volume``) with several numeric columns.
    train_start, train_end, test_start, test_end : str or None
        Inclusive span dates (:func:`~latentquant.data.split_by_date`; ``train_end`` is required). Each span must
        hold at least 20 dates of the data (checked before any model is fitted).
    n_factors : int, default 5
        K of the reference model (smaller than the number of assets).
    stress_period : list of str or None
        ``[start, end]`` of a crisis whose aggregate posterior drives the stressed scenarios (``None``: none). It may
        lie anywhere in the data (at least 2 dates): outside the training span the fitted model encodes those dates.
    periods_per_year : int, default 252
        Annualisation (365 for crypto).
    k_grid : list of int
        K values of the explained-variance comparison (VAE vs linear autoencoder vs PCA).
    beta_grid : list of float
        β values of the disentanglement sweep (``[]``: no sweep).

    Examples
    --------
    >>> crypto = Universe(name="crypto", data="crypto_daily", train_end="2019-06-30", n_factors=2, k_grid=[1, 2])
    >>> crypto.validate()
    >>> Universe(name="mine", data="sp500_stocks", path="prices.csv").validate()
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: universe 'mine': give exactly one of data (a bundled dataset) or path.
    """

    name: str = "stocks"
    data: str | None = "sp500_stocks"
    path: str | None = None
    input: str = "prices"
    missing: str | None = None
    min_history: int | None = None
    value_column: str | None = None
    train_start: str | None = None
    train_end: str = "2015-12-31"
    test_start: str | None = None
    test_end: str | None = None
    n_factors: int = 5
    stress_period: list[str] | None = field(default_factory=lambda: ["2008-09-01", "2009-03-31"])
    periods_per_year: int = 252
    k_grid: list[int] = field(default_factory=lambda: list(range(1, 9)))
    beta_grid: list[float] = field(default_factory=lambda: [0.5, 1.0, 2.0, 4.0])

    def validate(self) -> None:
        """Raise :class:`~latentquant.exceptions.ConfigError` (naming the universe) for the first invalid option."""
        check_path_name("name", self.name, owner="universe")  # it names files and folders of the run directory
        owner = f"universe {self.name!r}"
        if (self.data is None) == (self.path is None):
            raise ConfigError(f"{owner}: give exactly one of data (a bundled dataset) or path.")
        check_arg("input", self.input, Options(*STUDY_INPUTS), owner=owner)
        check_arg("missing", self.missing, Options(*STUDY_MISSING), None, owner=owner)
        check_arg("min_history", self.min_history, Interval(Integral, 2, None), None, owner=owner)
        check_arg("value_column", self.value_column, str, None, owner=owner)
        check_arg("n_factors", self.n_factors, Interval(Integral, 1, None), owner=owner)
        check_arg("periods_per_year", self.periods_per_year, Interval(Integral, 1, None), owner=owner)
        check_arg("k_grid", self.k_grid, SequenceOf(Interval(Integral, 1, None)), owner=owner)
        check_arg("beta_grid", self.beta_grid, SequenceOf(Interval(Real, 0, None)), owner=owner)
        if self.stress_period is not None and (isinstance(self.stress_period, str) or len(self.stress_period) != 2):
            raise ConfigError(f"{owner}: stress_period must be [start, end], got {self.stress_period!r}.")
        dates = {"train_start": self.train_start, "train_end": self.train_end, "test_start": self.test_start,
                 "test_end": self.test_end}
        if self.stress_period is not None:
            dates.update(stress_start=self.stress_period[0], stress_end=self.stress_period[1])
        for key, value in dates.items():
            if value is None:
                continue
            try:
                pd.Timestamp(value)
            except (ValueError, TypeError):
                raise ConfigError(f"{owner}: {key} must be a date such as 2015-12-31, got {value!r}.") from None


def _default_universes() -> list[Universe]:
    return [
        Universe(),
        Universe(name="crypto", data="crypto_daily", train_end="2019-06-30", test_start="2019-07-01",
                 test_end="2020-01-16", n_factors=2, stress_period=["2018-11-01", "2018-12-31"],
                 periods_per_year=365, k_grid=[1, 2], beta_grid=[]),
    ]


@dataclass
class FactorStudyConfig(StudyConfig):
    """Every choice of the study, explicit; see :func:`run`. Load one from a mapping (YAML) with
    :meth:`from_dict` (``universes`` is a list of :class:`Universe` mappings).

    Parameters
    ----------
    universes : list of Universe
        The sets of assets (default: the 20 bundled S&P 500 stocks and the bundled cryptocurrencies).
    beta : float, default 1.0
        Weight of the KL term of the reference models.
    hidden_dims : list of int, default [64, 32]
        Hidden layer widths of encoder and decoder.
    epochs, batch_size, patience : int
        Training options of every VAE and linear autoencoder (early stopping after ``patience`` epochs).
    lr : float, default 1e-3
        Adam learning rate.
    validation_split : float, default 0.2
        Share of the training span, from its end, held out for early stopping.
    seeds : list of int, default [0, 1, 2]
        Seeds of the repeated fits (tables show mean ± std); the first seed's model is shown and saved.
    n_scenarios : int, default 20000
        Scenarios drawn for the scenario-quality and stress tables (at least 100).
    fan_horizon, fan_paths : int
        Length (periods) and number of the simulated paths of the stress fan chart.
    long_short_fraction : float, default 1/3
        Share of assets in each leg of the loading-sorted books.
    out : str, default "runs/factors"
        The run directory.
    verbose : bool or None
        ``False`` silences the progress lines on stderr.

    Examples
    --------
    >>> cfg = FactorStudyConfig.from_dict({"seeds": [0], "universes": [{"name": "stocks", "n_factors": 3}]})
    >>> cfg.validate()
    >>> cfg.universes[0].n_factors, cfg.to_dict()["universes"][0]["data"]
    (3, 'sp500_stocks')
    """

    universes: list[Universe] = field(default_factory=_default_universes)
    beta: float = 1.0
    hidden_dims: list[int] = field(default_factory=lambda: [64, 32])
    epochs: int = 300
    batch_size: int = 128
    lr: float = 1e-3
    validation_split: float = 0.2
    patience: int = 20
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    n_scenarios: int = 20000
    fan_horizon: int = 63
    fan_paths: int = 2000
    long_short_fraction: float = 1 / 3
    out: str = "runs/factors"
    verbose: bool | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FactorStudyConfig:
        """Build a config from a mapping (e.g. parsed YAML); unknown keys are errors, not silently ignored."""
        kwargs = study_options(cls, raw)
        if "universes" in kwargs:
            if not isinstance(kwargs["universes"], list):
                raise ConfigError(f"universes must be a list of universe mappings, got {kwargs['universes']!r}.")
            u_known = {f.name for f in fields(Universe)}
            universes = []
            for i, u in enumerate(kwargs["universes"] or []):
                if not isinstance(u, Mapping):
                    raise ConfigError(f"universes[{i}] must be a mapping of options, got {u!r}.")
                bad = sorted(set(u) - u_known)
                if bad:
                    raise ConfigError(f"universes[{i}]: unknown option(s) {bad}; known options: {sorted(u_known)}.")
                if u.get("path") is not None and "data" not in u:
                    u = {**u, "data": None}  # a user file replaces the default bundled dataset
                universes.append(Universe(**u))
            kwargs["universes"] = universes
        return cls(**kwargs)

    def validate(self) -> None:
        """Raise :class:`~latentquant.exceptions.ConfigError` for the first invalid option."""
        if not self.universes:
            raise ConfigError("universes must list at least one universe.")
        names = [u.name for u in self.universes]
        if len(set(names)) != len(names):
            raise ConfigError(f"universe names must be unique, got {names}.")
        for u in self.universes:
            u.validate()
        for name in ("epochs", "batch_size", "patience", "fan_horizon", "fan_paths"):
            check_arg(name, getattr(self, name), Interval(Integral, 1, None))
        check_arg("n_scenarios", self.n_scenarios, Interval(Integral, 100, None))
        check_arg("seeds", self.seeds, SequenceOf(Interval(Integral, 0, None), min_len=1))
        check_arg("hidden_dims", self.hidden_dims, SequenceOf(Interval(Integral, 1, None)))
        check_arg("lr", self.lr, Interval(Real, 0, None, closed="neither"))
        check_arg("beta", self.beta, Interval(Real, 0, None))
        check_arg("long_short_fraction", self.long_short_fraction, Interval(Real, 0, 0.5, closed="right"))
        check_arg("validation_split", self.validation_split, Interval(Real, 0, 1, closed="left"))
        check_arg("verbose", self.verbose, "boolean", None)


@dataclass(frozen=True)
class FactorStudyResult(StudyResult):
    """What :func:`run` produced: the run directory, headline metrics (``metrics['universes'][name]``) and each
    universe's tables (``tables[name][table]``; read-only, :meth:`table` hands out copies).

    Attributes
    ----------
    path : pathlib.Path
        The run directory.
    metrics : mapping
        ``{"universes": {name: headline numbers}}``, as in ``metrics.json``.
    tables : mapping of str to mapping of str to pandas.DataFrame
        Universe name → table name → table.

    Examples
    --------
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> headline = {"n_factors": 5, "n_seeds": 3, "vae_test_r2_mean": 0.412, "vae_test_r2_std": 0.004,
    ...             "pca_test_r2": 0.405, "ew_factor_share": 0.83, "active_units": 5}
    >>> r2 = pd.DataFrame({"K": [5], "VAE − PCA": [0.007]})
    >>> result = FactorStudyResult(path=Path("runs/factors"), metrics={"universes": {"stocks": headline}},
    ...                            tables={"stocks": {"r2_by_k": r2}})
    >>> print(result.summary())
    stocks: K=5, test R² 0.412 ± 0.004 (PCA 0.405); EW portfolio factor share 83.0%
    report: runs/factors/report.html
    >>> result.table("r2_by_k")["VAE − PCA"].tolist()  # one universe: no need to name it
    [0.007]
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        frozen = {u: MappingProxyType(dict(t)) for u, t in self.tables.items()}
        object.__setattr__(self, "tables", MappingProxyType(frozen))

    def table(self, name: str, universe: str | None = None) -> pd.DataFrame:
        """A copy of table ``name`` of ``universe`` (which may be omitted when the study has one universe)."""
        if universe is None:
            if len(self.tables) != 1:
                raise ConfigError(f"the study has universes {sorted(self.tables)}; pass universe=NAME.")
            universe = next(iter(self.tables))
        if universe not in self.tables:
            raise ConfigError(f"no universe {universe!r}; universes: {sorted(self.tables)}.")
        tables = self.tables[universe]
        if name not in tables:
            raise ConfigError(f"no table {name!r} for universe {universe!r}; tables: {sorted(tables)}.")
        return tables[name].copy()

    def summary(self) -> str:
        """Per universe: K, test R² (mean ± std over seeds) vs PCA, the EW factor share and stressed/prior vol."""
        lines = []
        for name, m in self.metrics["universes"].items():
            r2 = format_mean_std(m["vae_test_r2_mean"], m["vae_test_r2_std"], m["n_seeds"])
            parts = [f"{name}: K={m['n_factors']}, test R² {r2} (PCA {m['pca_test_r2']:.3f})",
                     f"EW portfolio factor share {m['ew_factor_share']:.1%}"]
            if m.get("stressed_vol_ratio"):
                parts.append(f"stressed/prior EW vol {m['stressed_vol_ratio']:.2f}×")
            if m["active_units"] < m["n_factors"]:
                parts.append(f"only {m['active_units']} of {m['n_factors']} factors active (KL > 0.01 nats/day; the "
                             "others collapsed to the prior: use fewer factors or a smaller beta)")
            lines.append("; ".join(parts))
        lines.append(f"report: {self.report}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Path, metrics and every universe's tables as plain Python values (``DataFrame.to_dict()``)."""
        return {"path": str(self.path), "metrics": dict(self.metrics),
                "tables": {u: {k: v.to_dict() for k, v in t.items()} for u, t in self.tables.items()}}


# ----------------------------------------------------------------------------------------------------- helpers
def _fmt(mean: float, std: float, digits: int = 3) -> str:
    return format_mean_std(mean, std, digits=digits)  # one seed: the mean alone


def _log(cfg: FactorStudyConfig, message: str) -> None:
    if cfg.verbose is not False:
        print(message, file=sys.stderr, flush=True)


class _Fits:
    """The VAE factor models of one universe, fitted once per (K, β, seed) on the training span."""

    def __init__(self, u: Universe, cfg: FactorStudyConfig, train: pd.DataFrame) -> None:
        self.u, self.cfg, self.train = u, cfg, train
        self.models: dict[tuple[int, float, int], VAEFactorModel] = {}

    def __call__(self, k: int, beta: float, seed: int) -> VAEFactorModel:
        key = (k, beta, seed)
        if key not in self.models:
            cfg = self.cfg
            self.models[key] = VAEFactorModel(
                n_factors=k, input="log_returns", beta=beta, hidden_dims=tuple(cfg.hidden_dims), epochs=cfg.epochs,
                batch_size=cfg.batch_size, lr=cfg.lr, validation_split=cfg.validation_split, patience=cfg.patience,
                seed=seed, verbose=False, periods_per_year=self.u.periods_per_year,
            ).fit(self.train)
        return self.models[key]


@dataclass
class _Output:
    """Everything one universe contributes to the run directory, gathered before anything is written."""

    universe: Universe
    source: str
    metrics: dict[str, Any]
    tables: dict[str, tuple[pd.DataFrame, str]] = field(default_factory=dict)
    figures: dict[str, tuple[Figure, str]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    model: VAEFactorModel | None = None
    histories: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    factors: pd.DataFrame = field(default_factory=pd.DataFrame)


# ----------------------------------------------------------------------------------------------------- stages
def _seed_table(u: Universe, cfg: FactorStudyConfig, fit: _Fits, train: pd.DataFrame,
                test: pd.DataFrame) -> pd.DataFrame:
    """Per seed of the main model: epochs, train/test explained variance, active units, latent correlation."""
    rows = []
    for seed in cfg.seeds:
        m = fit(u.n_factors, cfg.beta, seed)
        _, mean_abs = latent_correlation(m.train_factors_.mean)
        rows.append({
            "seed": seed, "epochs_run": len(m.history_["train_loss"]), "best_epoch": m.history_.best_epoch + 1,
            "train_r2": m.score(train), "test_r2": m.score(test),
            "active_units": active_units(m.kl_per_factor_), "mean_abs_latent_corr": mean_abs,
        })
        _log(cfg, f"[{u.name}] seed {seed}: {rows[-1]['epochs_run']} epochs, test R² {rows[-1]['test_r2']:.3f}")
    return pd.DataFrame(rows).set_index("seed")


def _r2_by_k(u: Universe, cfg: FactorStudyConfig, fit: _Fits, k_grid: list[int], test: pd.DataFrame,
             z_train: pd.DataFrame, z_test: pd.DataFrame
             ) -> tuple[pd.DataFrame, dict[int, dict[str, float]], dict[int, dict[str, float]]]:
    """Test-span explained variance against K: VAE and linear autoencoder (mean ± std over seeds) and PCA."""
    k_rows, k_mean, k_std = [], {}, {}
    for k in k_grid:
        vae_r2 = [fit(k, cfg.beta, s).score(test) for s in cfg.seeds]
        lin_r2 = [linear_autoencoder_benchmark(
            z_train, z_test, k, seed=s, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
            validation_split=cfg.validation_split, patience=cfg.patience).test_r2 for s in cfg.seeds]
        p = pca_benchmark(z_train, z_test, k).test_r2
        (vm, vs), (lm, ls) = mean_std(vae_r2), mean_std(lin_r2)
        k_rows.append({"K": k, "VAE": _fmt(vm, vs), "linear AE": _fmt(lm, ls), "PCA": f"{p:.3f}",
                       "VAE − PCA": round(vm - p, 3)})
        k_mean[k], k_std[k] = {"VAE": vm, "linear AE": lm, "PCA": p}, {"VAE": vs, "linear AE": ls, "PCA": 0.0}
        _log(cfg, f"[{u.name}] K={k}: VAE {vm:.3f}, linear AE {lm:.3f}, PCA {p:.3f}")
    return pd.DataFrame(k_rows).set_index("K"), k_mean, k_std


def _beta_sweep(u: Universe, cfg: FactorStudyConfig, fit: _Fits, test: pd.DataFrame) -> list[dict[str, Any]]:
    """Reconstruction vs disentanglement for each β of the grid (mean ± std over seeds)."""
    beta_rows = []
    for beta in u.beta_grid:
        r2s, corrs, actives, kls, sharpes, book_corrs = [], [], [], [], [], []
        for s in cfg.seeds:
            m = fit(u.n_factors, float(beta), s)
            r2s.append(m.score(test))
            corrs.append(latent_correlation(m.train_factors_.mean)[1])
            actives.append(active_units(m.kl_per_factor_))
            kls.append(float(m.kl_per_factor_.sum()))
            books = loading_sorted_books(m.factor_loadings(), test, cfg.long_short_fraction,
                                         periods_per_year=u.periods_per_year)
            sharpes.append(float(books.performance["sharpe"].abs().mean()))
            book_corrs.append(latent_correlation(books.returns)[1])  # mean |off-diagonal correlation| between books
        beta_rows.append({
            "β": beta, "test R²": _fmt(*mean_std(r2s)), "mean |latent corr|": _fmt(*mean_std(corrs)),
            "active units": f"{np.mean(actives):.1f} / {u.n_factors}", "KL (nats/day)": _fmt(*mean_std(kls), 2),
            "mean |Sharpe| of L/S books": _fmt(*mean_std(sharpes), 2),
            "mean |corr| between L/S books": _fmt(*mean_std(book_corrs), 2),
        })
        _log(cfg, f"[{u.name}] β={beta:g}: test R² {np.mean(r2s):.3f}, mean |corr| {np.mean(corrs):.3f}")
    return beta_rows


def _stress(u: Universe, cfg: FactorStudyConfig, model: VAEFactorModel, returns: pd.DataFrame, ew: np.ndarray,
            out: _Output, scenario_sets: dict[str, pd.DataFrame], data: pd.DataFrame | None = None
            ) -> dict[str, Any]:
    """Stressed scenarios of the universe's stress period: adds them to ``scenario_sets``, writes the stress tables
    and fan chart into ``out`` and returns the stress metrics. ``data`` (the whole returns) is given when the period
    lies outside the training span: its latent statistics are then those of the encoded data."""
    if u.stress_period is None:
        return {}
    n, seed0, ppy = cfg.n_scenarios, cfg.seeds[0], u.periods_per_year
    period = (u.stress_period[0], u.stress_period[1])
    scenario_sets[f"VAE stressed {period[0]} … {period[1]}"] = model.generate_scenarios(
        n, "stressed", stress_period=period, seed=seed0, data=data)
    stats = model.stress_statistics(period, data=data)
    realised = returns.loc[period[0]:period[1]]
    horizon = min(cfg.fan_horizon, max(len(realised), 5))
    n_paths = cfg.fan_paths
    draws = {
        "prior": model.generate_scenarios(n_paths * horizon, "prior", seed=seed0 + 1),
        "stressed": model.generate_scenarios(n_paths * horizon, "stressed", stress_period=period, seed=seed0 + 2,
                                             data=data),
    }
    comparison = horizon_comparison(draws, realised, ew, horizon=horizon, n_paths=n_paths, periods_per_year=ppy)
    vols = comparison.table["ann_vol"]
    stress_table = comparison.table.rename(
        index={"prior": "VAE prior", "stressed": "VAE stressed", "realised": "realised stress period"},
        columns={"ann_vol": "EW ann. vol", "VaR": "EW 1% VaR", "ES": "EW 1% ES",
                 "horizon_median": f"{horizon}-day cum. return, median",
                 "horizon_q05": f"{horizon}-day cum. return, 5%"})
    realised_path = pd.Series(comparison.realised_path, name=f"realised {period[0]} …")
    out.tables["stress_statistics"] = (stats, "Latent distribution of the stress period vs the training span")
    out.tables["stress_scenarios"] = (stress_table, "Equal-weight portfolio: prior vs stressed scenarios vs the "
                                      "realised stress period (daily log returns; VaR/ES as positive losses)")
    out.figures["stress_fan_chart"] = (figs.plot_fan_chart(
        comparison.paths, realised=realised_path, ylabel="cumulative EW log return",
        title=f"{u.name}: {horizon}-day paths, stressed ({period[0]} … {period[1]}) vs prior"),
        "Fan chart of i.i.d. daily scenarios cumulated over the horizon (no volatility clustering), "
        "with the realised path of the stress period")
    return {
        "stress_period": list(period), "prior_ew_vol": float(vols["prior"]),
        "stressed_ew_vol": float(vols["stressed"]), "realised_stress_ew_vol": float(vols["realised"]),
        "stressed_vol_ratio": float(vols["stressed"]) / float(vols["prior"]),
    }


# ----------------------------------------------------------------------------------------------------- one universe
_MIN_SPAN_ROWS = 20  # rows of the training and of the test span


@dataclass
class _Prepared:
    """One universe's data, split and checked before any model is fitted."""

    returns: pd.DataFrame
    source: str
    train: pd.DataFrame
    test: pd.DataFrame
    stress_in_train: bool = True  # the stress period's dates all lie in the training span


def _prepare(u: Universe) -> _Prepared:
    """Load the universe's returns and check its spans against the data: a span outside the data, a span with too
    few rows or a stress period without data is an error here, before the first fit of any universe."""
    owner = f"universe {u.name!r}"
    returns, source = load_study_returns(u.data, u.path, u.input, missing=u.missing, min_history=u.min_history,
                                         value_column=u.value_column)
    n_assets = returns.shape[1]
    if n_assets < 2:
        raise DataValidationError(f"universe {u.name!r} has {n_assets} asset column; a factor model needs at least 2.")
    if u.n_factors >= n_assets:
        raise ConfigError(f"universe {u.name!r}: n_factors={u.n_factors} must be smaller than the number of assets "
                          f"({n_assets}).")
    try:
        train, test = split_by_date(returns, u.train_end, u.test_start, train_start=u.train_start,
                                    test_end=u.test_end)
    except (ConfigError, DataValidationError) as exc:
        raise type(exc)(f"{owner}: {exc}") from None
    cover = f"the data ({source}) cover {returns.index[0].date()} … {returns.index[-1].date()}"
    for label, part, options in (("training", train, "train_start/train_end"),
                                 ("test", test, "train_end/test_start/test_end")):
        if len(part) < _MIN_SPAN_ROWS:
            raise DataValidationError(
                f"{owner}: the {label} span has {len(part)} rows; at least {_MIN_SPAN_ROWS} are needed; {cover}. "
                f"Move {options} so that the span holds more dates of the data.")
    prepared = _Prepared(returns, source, train, test)
    if u.stress_period is not None:
        index = returns.index  # a DatetimeIndex (split_by_date checked it)
        start, end = pd.Timestamp(u.stress_period[0]), pd.Timestamp(u.stress_period[1])
        tz = getattr(index, "tz", None)
        if tz is not None:
            start = start.tz_localize(tz) if start.tz is None else start
            end = end.tz_localize(tz) if end.tz is None else end
        if start > end:
            raise ConfigError(f"{owner}: stress_period starts after it ends: {list(u.stress_period)!r}.")
        dates = index[(index >= start) & (index <= end)]
        if len(dates) < 2:
            raise DataValidationError(
                f"{owner}: stress_period {list(u.stress_period)} has {len(dates)} dates in the data; at least 2 are "
                f"needed; {cover}. Choose a stress period inside the data, or stress_period: null for none.")
        prepared.stress_in_train = bool(dates.isin(train.index).all())
    return prepared


def _analyse(u: Universe, cfg: FactorStudyConfig, prepared: _Prepared) -> _Output:
    returns, source, train, test = prepared.returns, prepared.source, prepared.train, prepared.test
    n_assets = returns.shape[1]
    k_grid = sorted({k for k in u.k_grid if k < n_assets} | {u.n_factors})
    out = _Output(universe=u, source=source, metrics={}, fingerprint=data_fingerprint(returns))
    ppy = u.periods_per_year

    # --- main model per seed, explained variance against K, β sweep ------------------------------------------
    fit = _Fits(u, cfg, train)
    t0 = time.perf_counter()
    seeds_table = _seed_table(u, cfg, fit, train, test)
    model = fit(u.n_factors, cfg.beta, cfg.seeds[0])
    out.model = model
    out.histories = {str(s): fit(u.n_factors, cfg.beta, s).history_.to_dict() for s in cfg.seeds}
    scaler = Standardizer().fit(train)
    z_train, z_test = scaler.transform(train), scaler.transform(test)
    pca_r2 = pca_benchmark(z_train, z_test, u.n_factors).test_r2
    r2_mean, r2_std = mean_std(seeds_table["test_r2"].tolist())
    k_table, k_mean, k_std = _r2_by_k(u, cfg, fit, k_grid, test, z_train, z_test)
    beta_rows = _beta_sweep(u, cfg, fit, test)
    fit_seconds = time.perf_counter() - t0

    # --- the reference model: factors, loadings, disentanglement -----------------------------------------------
    enc_train, enc_test = model.train_factors_, model.encode(test)
    factor_mean = pd.concat([enc_train.mean, enc_test.mean])
    factor_std = pd.concat([enc_train.std, enc_test.std])
    out.factors = pd.concat({"mean": factor_mean, "std": factor_std}, axis=1)
    out.factors.columns = ["_".join(map(str, c)) for c in out.factors.columns]
    loadings = model.factor_loadings()
    jac_err = loading_discrepancy(loadings, model.factor_loadings(method="finite_difference"))
    corr, mean_abs_corr = latent_correlation(enc_train.mean)
    kl_table = pd.DataFrame({"KL (nats/day)": model.kl_per_factor_,
                             "active": model.kl_per_factor_ > 0.01,
                             "posterior std (mean)": enc_train.std.mean()})
    traversal = {name: frame * 100 for name, frame in model.traverse().items()}
    ls_table = loading_sorted_books(loadings, test, cfg.long_short_fraction, periods_per_year=ppy).performance

    # --- scenarios vs the test span ----------------------------------------------------------------------------
    n = cfg.n_scenarios
    seed0 = cfg.seeds[0]
    prior = model.generate_scenarios(n, "prior", seed=seed0)
    prior_mean_only = model.generate_scenarios(n, "prior", seed=seed0, noise=False)
    gauss = gaussian_scenarios(train, n, seed=seed0)
    scenario_sets = {
        "historical test span": test,
        "historical training span": train,
        "VAE prior + idiosyncratic noise": prior,
        "VAE prior, decoder mean only": prior_mean_only,
        "Gaussian fitted on training": gauss,
    }
    moments = {name: annualised_moments(x, periods_per_year=ppy) for name, x in
               (("test", test), ("VAE", prior), ("Gaussian", gauss))}
    per_asset = pd.DataFrame({
        "test mean (ann.)": moments["test"]["ann_mean"], "VAE mean (ann.)": moments["VAE"]["ann_mean"],
        "test vol (ann.)": moments["test"]["ann_vol"], "VAE vol (ann.)": moments["VAE"]["ann_vol"],
        "Gaussian vol (ann.)": moments["Gaussian"]["ann_vol"],
        "test q01": moments["test"]["quantile"], "VAE q01": moments["VAE"]["quantile"],
    })

    # --- stress ---------------------------------------------------------------------------------------------------
    ew = np.full(n_assets, 1.0 / n_assets)
    stress_metrics = _stress(u, cfg, model, returns, ew, out, scenario_sets,
                             data=None if prepared.stress_in_train else returns)
    scenario_table = scenario_quality(scenario_sets, test, periods_per_year=ppy)

    # --- risk decomposition of the equal-weight portfolio ----------------------------------------------------
    rd = model.risk_decomposition(ew)
    rd_mc = model.risk_decomposition(ew, method="monte_carlo", n_samples=cfg.n_scenarios, seed=seed0)
    risk_table = pd.concat([rd.table(), rd_mc.table().add_suffix(" (MC)")], axis=1)
    risk_table = risk_table.reindex([*model.factor_names_, "interaction", "factor total", "idiosyncratic", "total"])
    realised_train_var = float((train.to_numpy() @ ew).var(ddof=1))
    asset_contrib = (rd.asset_contributions / rd.total_variance).to_frame("share of EW variance")

    # --- metrics, tables, figures ---------------------------------------------------------------------------------
    out.metrics = {
        "source": source, "n_assets": n_assets, "n_factors": u.n_factors, "beta": cfg.beta,
        "n_seeds": len(cfg.seeds), "train_rows": len(train), "test_rows": len(test),
        "train_span": [str(train.index[0].date()), str(train.index[-1].date())],
        "test_span": [str(test.index[0].date()), str(test.index[-1].date())],
        "vae_test_r2_mean": r2_mean, "vae_test_r2_std": r2_std, "pca_test_r2": pca_r2,
        "vae_train_r2_mean": float(seeds_table["train_r2"].mean()),
        "active_units": active_units(model.kl_per_factor_), "kl_per_factor": model.kl_per_factor_.tolist(),
        "mean_abs_latent_corr": mean_abs_corr, "jacobian_fd_rel_error": jac_err,
        "ew_factor_share": rd.factor_share, "ew_total_var_linear": rd.total_variance,
        "ew_total_var_mc": rd_mc.total_variance, "ew_realised_train_var": realised_train_var,
        "euler_sum_error": float(abs(rd.factor_contributions.sum() - rd.factor_variance)),
        "fit_seconds": fit_seconds, "n_fits": len(fit.models),
        "per_seed": seeds_table.reset_index().to_dict(orient="records"),
        "r2_by_k": {str(k): v for k, v in k_mean.items()},
        **stress_metrics,
    }
    out.texts["setup"] = (
        f"Data: {source}; {n_assets} assets, daily log returns. Training span {out.metrics['train_span'][0]} … "
        f"{out.metrics['train_span'][1]} ({len(train)} days; its last {cfg.validation_split:.0%} is the early-stopping "
        f"block); test span {out.metrics['test_span'][0]} … {out.metrics['test_span'][1]} ({len(test)} days), never "
        "used for fitting. Per-asset standardisation fitted on the training span. "
        f"VAE factor model: hidden {cfg.hidden_dims}, K={u.n_factors}, β={cfg.beta:g}, Adam lr={cfg.lr:g}, batch "
        f"{cfg.batch_size}, up to {cfg.epochs} epochs (patience {cfg.patience}), seeds {cfg.seeds}; figures show seed "
        f"{cfg.seeds[0]}. Annualisation: ×{ppy} (means), ×√{ppy} (volatilities, Sharpe ratios)."
    )
    out.tables["r2_per_seed"] = (seeds_table, "Per seed: epochs, explained variance (pooled R² on standardised "
                                 "returns, benchmark = training mean), active units, mean |latent correlation|")
    out.figures["loss_curves"] = (figs.plot_loss_curves(model.history_, best_epoch=model.history_.best_epoch
                                                        if model.history_.restored_best else None),
                                  f"Loss curves (seed {cfg.seeds[0]}); dashed = validation block")
    out.figures["factors"] = (figs.plot_series_with_band(factor_mean, factor_std, split_date=test.index[0]),
                              "Latent factors over time: posterior mean ± 2σ; dashed line = start of the test span")
    out.figures["loadings"] = (figs.plot_heatmap(loadings * 100, title="loadings ∂x̂/∂z (% daily log return per "
                                                 "unit of factor)"),
                               "Loadings: the decoder Jacobian averaged over the training dates (autograd; finite "
                               f"differences agree to a relative {jac_err:.1e})")
    out.tables["r2_by_k"] = (k_table, "Out-of-sample explained variance by number of factors (mean ± std over "
                             f"{len(cfg.seeds)} seeds; PCA is deterministic)")
    km, ks = pd.DataFrame(k_mean).T, pd.DataFrame(k_std).T
    out.figures["r2_by_k"] = (figs.plot_metric_curves(km, ks, xlabel="number of factors K", ylabel="test R²"),
                              "Test-span explained variance against K (±1 std over seeds)")
    if beta_rows:
        out.tables["beta_sweep"] = (pd.DataFrame(beta_rows).set_index("β"),
                                    f"β sweep (K={u.n_factors}; mean ± std over seeds): reconstruction vs "
                                    "disentanglement. Long-short books on the test span, rf = 0, Sharpe ×√"
                                    f"{ppy}")
    out.tables["kl_per_factor"] = (kl_table, f"KL per factor on the training span; {out.metrics['active_units']} of "
                                   f"{u.n_factors} active (KL > 0.01 nats); mean |off-diagonal latent correlation| "
                                   f"{mean_abs_corr:.3f}")
    out.figures["latent_corr"] = (figs.plot_heatmap(corr, title="latent correlation (training span)", vlim=1.0),
                                  "Correlation of the posterior means across training dates")
    out.figures["traversal"] = (figs.plot_traversal(traversal, ylabel="Δ decoded return (% per day)"),
                                "Traversals: each factor swept from −3 to 3 with the others at 0; lines are assets")
    ls_show = ls_table[["ann_return", "ann_vol", "sharpe", "sharpe_low", "sharpe_high", "max_drawdown",
                        "corr_with_EW"]]
    out.tables["long_short"] = (ls_show, f"Long-short books sorted on each factor's loadings (top vs bottom "
                                f"{cfg.long_short_fraction:.0%} of assets, equal weights, fixed from the training "
                                f"span), test span. Simple returns, rf = 0 (dollar-neutral), ×{ppy} / ×√{ppy}, 95% "
                                "CI (Mertens). A factor's sign is arbitrary, so is the sign of its book.")
    out.tables["scenario_quality"] = (scenario_table, f"{n} one-day scenarios vs the held-out test span (daily log "
                                      "returns; means ×, vols ×√ periods per year; VaR/ES of the EW portfolio at 1% "
                                      "as positive losses; corr_distance = ‖C − C_test‖_F / N)")
    out.tables["scenario_per_asset"] = (per_asset, "Per asset: annualised mean and volatility and the 1% quantile, "
                                        "test span vs VAE prior scenarios")
    err = out.metrics["euler_sum_error"]
    closeness = "exactly" if err == 0 else f"within {err:.1e}"
    out.tables["risk_decomposition"] = (risk_table, f"Equal-weight portfolio variance (daily log returns): "
                                        f"linearised Euler contributions (sum to the factor total {closeness}) "
                                        "and Monte Carlo through the decoder "
                                        f"({cfg.n_scenarios} draws; per-factor = stand-alone). Realised training-span "
                                        f"variance: {realised_train_var:.3g}")
    out.figures["risk_assets"] = (figs.plot_bars(asset_contrib, ylabel="share of variance",
                                                 title="Euler contributions of each asset (EW portfolio)"),
                                  "Per-asset Euler contributions to the equal-weight portfolio's variance (linearised)")
    return out


# ----------------------------------------------------------------------------------------------------- run
def run(config: FactorStudyConfig) -> FactorStudyResult:
    """Run the study on every universe and write one run directory; see the module docstring.

    Parameters
    ----------
    config : FactorStudyConfig
        Every choice of the study; validated first, before any data are read; then every universe's data are read
        and its spans checked against them, before the first model is fitted.

    Returns
    -------
    FactorStudyResult

    Raises
    ------
    ConfigError
        An invalid option (the run directory is created only after every fit succeeded).
    DataValidationError
        A span (training, test, stress period) outside a universe's data or with too few rows, raised before any
        model is fitted.

    Examples
    --------
    One universe, one seed (a few minutes on a laptop):

    >>> config = FactorStudyConfig.from_dict({"seeds": [0], "universes": [{"name": "stocks", "k_grid": [1, 5]}]})
    >>> result = run(config)  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP

    A bad option fails at once:

    >>> run(FactorStudyConfig.from_dict({"universes": [{"name": "stocks", "n_factors": 0}]}))
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: universe 'stocks': n_factors must be a positive integer, got 0.
    """
    cfg = config
    cfg.validate()
    t0 = time.perf_counter()
    # every universe's data and spans are checked before the first fit: a bad span fails at once, not after hours
    prepared = [_prepare(u) for u in cfg.universes]
    outputs = [_analyse(u, cfg, p) for u, p in zip(cfg.universes, prepared, strict=True)]
    # the run directory is created only once every fit succeeded: a bad option leaves nothing behind
    names = ", ".join(o.universe.name for o in outputs)
    run_dir = RunDirectory(cfg.out, title=f"VAE factor model — {names}", started=t0)
    run_dir.timings["analysis_seconds"] = time.perf_counter() - t0
    tables: dict[str, dict[str, pd.DataFrame]] = {}
    for o in outputs:
        u = o.universe
        tag = u.name
        tables[tag] = {k: v[0] for k, v in o.tables.items()}
        sections: list[tuple[str, str, list[str], list[str]]] = [
            ("Set-up", o.texts["setup"], ["r2_per_seed"], ["loss_curves"]),
            ("Factors and loadings", "Posterior means with ±2σ posterior bands, and the Jacobian loadings.",
             [], ["factors", "loadings"]),
            ("Explained variance: VAE vs linear AE vs PCA", "", ["r2_by_k"], ["r2_by_k"]),
            ("Disentanglement", "", ["kl_per_factor", "beta_sweep", "long_short"], ["latent_corr", "traversal"]),
            ("Scenario quality", "", ["scenario_quality", "scenario_per_asset"], []),
            ("Stressed scenarios", "Stressed scenarios draw the factors from the stress period's aggregate posterior "
             "and the idiosyncratic noise from that period's residuals.", ["stress_statistics", "stress_scenarios"],
             ["stress_fan_chart"]),
            ("Risk decomposition of the equal-weight portfolio", "", ["risk_decomposition"], ["risk_assets"]),
        ]
        for title, text, table_names, figure_names in sections:
            present_t = [t for t in table_names if t in o.tables]
            present_f = [f for f in figure_names if f in o.figures]
            if not (present_t or present_f):
                continue
            run_dir.section(f"{tag}: {title}", text)
            for t in present_t:
                run_dir.save_table(f"{tag}_{t}", *o.tables[t])
            for f in present_f:
                run_dir.save_figure(f"{tag}_{f}", *o.figures[f])
        assert o.model is not None
        o.model.save(run_dir.child("model", tag))
        atomic_write(run_dir.child(f"factors_{tag}.parquet"), o.factors.to_parquet)
        run_dir.save_json(f"history_{tag}.json", o.histories)
    metrics = {"universes": {o.universe.name: o.metrics for o in outputs}}
    report = run_dir.finish(
        config=cfg.to_dict(), metrics=metrics,
        manifest={"seeds": cfg.seeds, "data": {o.universe.name: {"source": o.source, "fingerprint": o.fingerprint}
                                               for o in outputs}},
    )
    assert report.exists()
    return FactorStudyResult(path=run_dir.path, metrics=metrics, tables=tables)


def fit_and_save(returns: pd.DataFrame, *, source: str, n_factors: int = 5, beta: float = 1.0,
                 hidden_dims: list[int] | None = None, epochs: int = 300, seed: int = 0, periods_per_year: int = 252,
                 out: str | Path = "runs/factors-fit", verbose: bool | None = None) -> str:
    """Fit one :class:`VAEFactorModel` on ``returns`` (daily log returns, the whole training span) and write a run
    directory: ``model/`` (loadable with ``VAEFactorModel.load``), ``factors.parquet``, the loadings table and a
    short report. Returns a one-paragraph summary.

    Parameters
    ----------
    returns : pandas.DataFrame
        Daily log returns, dates × assets.
    source : str
        Where the returns come from, for the report.
    n_factors : int, default 5
        Number of latent factors K.
    beta : float, default 1.0
        Weight of the KL term.
    hidden_dims : list of int, optional
        Hidden layer widths (default ``[64, 32]``).
    epochs : int, default 300
        Maximum training epochs (early stopping on the last 20% of the rows).
    seed : int, default 0
        Seed of the initial weights and of training.
    periods_per_year : int, default 252
        Annualisation.
    out : str or pathlib.Path, default "runs/factors-fit"
        The run directory.
    verbose : bool or None
        Training progress (see :class:`~latentquant.models.VAEFactorModel`).

    Returns
    -------
    str
        What was fitted, the in-sample R², and the paths of the model and the report.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> market = rng.normal(0, 0.01, (300, 1))
    >>> returns = pd.DataFrame(market + rng.normal(0, 0.005, (300, 4)), columns=list("ABCD"),
    ...                        index=pd.bdate_range("2020-01-01", periods=300))
    >>> print(fit_and_save(returns, source="synthetic", n_factors=1, epochs=5, out="runs/fit", verbose=False))
    fitted K=1 factors on 4 assets × 300 days (in-sample R² ..., 5 epochs)...; model: runs/fit/model; report: \
runs/fit/report.html
    >>> VAEFactorModel.load("runs/fit/model").n_factors
    1
    """
    t0 = time.perf_counter()
    model = VAEFactorModel(n_factors=n_factors, input="log_returns", beta=beta,
                           hidden_dims=tuple([64, 32] if hidden_dims is None else hidden_dims), epochs=epochs,
                           seed=seed, verbose=verbose, periods_per_year=periods_per_year).fit(returns)
    run_dir = RunDirectory(out, title=f"VAE factor model fit — {source}", started=t0)
    enc = model.train_factors_
    loadings = model.factor_loadings()
    run_dir.section("Fit", f"{source}; {returns.shape[1]} assets, {len(returns)} days "
                           f"({returns.index[0].date()} … {returns.index[-1].date()}); K={n_factors}, β={beta:g}, "
                           f"seed {seed}. Explained variance (in sample): {model.score(returns):.3f}.")
    run_dir.save_figure("loss_curves", figs.plot_loss_curves(model.history_), "Loss curves")
    run_dir.save_figure("factors", figs.plot_series_with_band(enc.mean, enc.std), "Factors: posterior mean ± 2σ")
    run_dir.save_table("loadings", loadings, "Loadings ∂x̂/∂z (log return per unit of factor), averaged over dates")
    run_dir.save_figure("loadings", figs.plot_heatmap(loadings * 100, title="loadings (% per unit of factor)"),
                        "Loadings heat map")
    run_dir.save_table("kl_per_factor", model.kl_per_factor_.to_frame(), "KL per factor (nats/day)")
    model.save(run_dir.path / "model")
    factors = pd.concat({"mean": enc.mean, "std": enc.std}, axis=1)
    factors.columns = ["_".join(map(str, c)) for c in factors.columns]
    atomic_write(run_dir.path / "factors.parquet", factors.to_parquet)
    metrics = {"in_sample_r2": model.score(returns), "kl_per_factor": model.kl_per_factor_.tolist(),
               "epochs_run": len(model.history_["train_loss"])}
    report = run_dir.finish(config={"source": source, "n_factors": n_factors, "beta": beta, "seed": seed,
                                    "hidden_dims": list(model.hidden_dims), "epochs": epochs},
                            metrics=metrics, manifest={"data_fingerprint": data_fingerprint(returns)})
    inactive = [str(f) for f, kl in model.kl_per_factor_.items() if not kl > 0.01]
    note = (f"; inactive factors {', '.join(inactive)} (KL ≤ 0.01 nats/day: collapsed to the prior, they carry no "
            "information; use fewer factors or a smaller beta)" if inactive else "")
    return (f"fitted K={n_factors} factors on {returns.shape[1]} assets × {len(returns)} days "
            f"(in-sample R² {metrics['in_sample_r2']:.3f}, {metrics['epochs_run']} epochs){note}; model: "
            f"{run_dir.path / 'model'}; report: {report}")

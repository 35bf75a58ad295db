"""The VAE factor-model study's config (``Universe``, ``FactorStudyConfig``) and result (``FactorStudyResult``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from numbers import Integral, Real
from types import MappingProxyType
from typing import Any

import pandas as pd

from latentquant.exceptions import ConfigError
from latentquant.experiments._config import StudyConfig, StudyResult, study_options
from latentquant.experiments._data import STUDY_INPUTS, STUDY_MISSING
from latentquant.models.factor._network import LIKELIHOODS
from latentquant.reports import format_mean_std
from latentquant.reports.rundir import check_path_name
from latentquant.validation import Interval, Options, SequenceOf, check_arg

__all__ = ["FactorStudyConfig", "FactorStudyResult", "Universe"]


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
    likelihood, linear_skip, init, free_bits, kl_warmup
        The observation model, architecture and collapse guards of every VAE (see
        :class:`~latentquant.models.VAEFactorModel`); defaults ``"student_t"``, ``True``, ``"auto"``, ``0.0``, ``0``:
        the calibrated model started at factor analysis (PCA beyond the Ledermann bound). ``"unit"``, ``False``,
        ``"random"`` is the plain β-VAE.
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
    likelihood: str = "student_t"
    linear_skip: bool = True
    init: str = "auto"
    free_bits: float = 0.0
    kl_warmup: int = 0
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
        check_arg("likelihood", self.likelihood, Options(*LIKELIHOODS))
        check_arg("linear_skip", self.linear_skip, "boolean")
        check_arg("init", self.init, Options("auto", "random", "pca", "fa"))
        check_arg("free_bits", self.free_bits, Interval(Real, 0, None))
        check_arg("kl_warmup", self.kl_warmup, Interval(Integral, 0, None))
        if self.init in ("pca", "fa") and not self.linear_skip:
            raise ConfigError(f"init: {self.init} needs linear_skip: true (the linear paths hold the "
                              f"{self.init.upper()} solution).")


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
                     f"EW portfolio factor share {m['ew_factor_share']:.1%}"
                     + (f" linearised, {m['ew_factor_share_mc']:.1%} Monte Carlo" if "ew_factor_share_mc" in m else "")]
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

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
(see :class:`~latentquant.reports.RunDirectory`). Orchestration only: the maths lives in the model and evaluation
modules.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from latentquant.data import Standardizer, split_by_date
from latentquant.evaluation import (
    distribution_summary,
    latent_correlation,
    loading_sorted_weights,
    performance_summary,
    reconstruction_r2,
    var_es,
)
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.experiments._config import study_options
from latentquant.experiments._data import STUDY_INPUTS, load_study_returns
from latentquant.models.autoencoder import AETrainer, Autoencoder
from latentquant.models.factor import VAEFactorModel
from latentquant.reports import RunDirectory, data_fingerprint
from latentquant.reports import figures as figs

__all__ = ["FactorStudyConfig", "FactorStudyResult", "Universe", "fit_and_save", "run"]


@dataclass
class Universe:
    """One set of assets and its spans. ``data`` names a bundled dataset (prices); ``path`` a user file holding
    ``input`` ('prices', 'log_returns' or 'returns')."""

    name: str = "stocks"
    data: str | None = "sp500_stocks"
    path: str | None = None
    input: str = "prices"
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
        if (self.data is None) == (self.path is None):
            raise ConfigError(f"universe {self.name!r}: give exactly one of data (a bundled dataset) or path.")
        if self.input not in STUDY_INPUTS:
            raise ConfigError(f"universe {self.name!r}: input must be one of {list(STUDY_INPUTS)}, got {self.input!r}.")
        if isinstance(self.n_factors, bool) or not isinstance(self.n_factors, int) or self.n_factors < 1:
            raise ConfigError(f"universe {self.name!r}: n_factors must be a positive integer, got {self.n_factors!r}.")
        if any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in self.k_grid):
            raise ConfigError(f"universe {self.name!r}: k_grid must list positive integers, got {self.k_grid!r}.")
        if any(not (isinstance(b, int | float) and np.isfinite(b) and b >= 0) for b in self.beta_grid):
            raise ConfigError(f"universe {self.name!r}: beta_grid must list numbers >= 0, got {self.beta_grid!r}.")
        if self.stress_period is not None and (isinstance(self.stress_period, str) or len(self.stress_period) != 2):
            raise ConfigError(
                f"universe {self.name!r}: stress_period must be [start, end], got {self.stress_period!r}."
            )
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
                raise ConfigError(f"universe {self.name!r}: {key} must be a date such as 2015-12-31, got "
                                  f"{value!r}.") from None


def _default_universes() -> list[Universe]:
    return [
        Universe(),
        Universe(name="crypto", data="crypto_daily", train_end="2019-06-30", test_start="2019-07-01",
                 test_end="2020-01-16", n_factors=2, stress_period=["2018-11-01", "2018-12-31"],
                 periods_per_year=365, k_grid=[1, 2], beta_grid=[]),
    ]


@dataclass
class FactorStudyConfig:
    """Every choice of the study, explicit; see :func:`run`. Load one from a mapping (YAML) with
    :meth:`from_dict`."""

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
                universes.append(Universe(**u))
            kwargs["universes"] = universes
        return cls(**kwargs)

    def validate(self) -> None:
        if not self.universes:
            raise ConfigError("universes must list at least one universe.")
        names = [u.name for u in self.universes]
        if len(set(names)) != len(names):
            raise ConfigError(f"universe names must be unique, got {names}.")
        for u in self.universes:
            u.validate()
        for name in ("epochs", "batch_size", "patience", "n_scenarios", "fan_horizon", "fan_paths"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}.")
        if not isinstance(self.seeds, list) or not self.seeds or not all(_is_int(v) for v in self.seeds):
            raise ConfigError(f"seeds must be a non-empty list of integers, got {self.seeds!r}.")
        if not isinstance(self.hidden_dims, list) or not all(_is_int(v) and v > 0 for v in self.hidden_dims):
            raise ConfigError(f"hidden_dims must be a list of positive integers ([] for linear), got "
                              f"{self.hidden_dims!r}.")
        if not (isinstance(self.lr, int | float) and not isinstance(self.lr, bool) and self.lr > 0):
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}.")
        if not (isinstance(self.beta, int | float) and not isinstance(self.beta, bool) and self.beta >= 0):
            raise ConfigError(f"beta must be a number >= 0, got {self.beta!r}.")
        if not (isinstance(self.long_short_fraction, int | float) and 0 < self.long_short_fraction <= 0.5):
            raise ConfigError(f"long_short_fraction must be in (0, 0.5], got {self.long_short_fraction!r}.")
        if not (isinstance(self.validation_split, int | float) and 0 <= self.validation_split < 1):
            raise ConfigError(f"validation_split must be in [0, 1), got {self.validation_split!r}.")
        if self.n_scenarios < 100:
            raise ConfigError(f"n_scenarios must be >= 100, got {self.n_scenarios!r}.")


@dataclass(frozen=True)
class FactorStudyResult:
    """What :func:`run` produced: headline metrics and main tables per universe, and the run directory."""

    path: Path
    metrics: dict[str, Any]
    tables: dict[str, dict[str, pd.DataFrame]]

    @property
    def report(self) -> Path:
        return self.path / "report.html"

    def summary(self) -> str:
        lines = []
        for name, m in self.metrics["universes"].items():
            parts = [f"{name}: K={m['n_factors']}, test R² {m['vae_test_r2_mean']:.3f} ± {m['vae_test_r2_std']:.3f} "
                     f"(PCA {m['pca_test_r2']:.3f})", f"EW portfolio factor share {m['ew_factor_share']:.1%}"]
            if m.get("stressed_vol_ratio"):
                parts.append(f"stressed/prior EW vol {m['stressed_vol_ratio']:.2f}×")
            lines.append("; ".join(parts))
        lines.append(f"report: {self.report}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------- helpers
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _mean_std(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def _fmt(mean: float, std: float, digits: int = 3) -> str:
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _model(u: Universe, cfg: FactorStudyConfig, *, seed: int, n_factors: int | None = None,
           beta: float | None = None) -> VAEFactorModel:
    return VAEFactorModel(
        n_factors=n_factors or u.n_factors, input="log_returns", beta=cfg.beta if beta is None else beta,
        hidden_dims=tuple(cfg.hidden_dims), epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
        validation_split=cfg.validation_split, patience=cfg.patience, seed=seed, verbose=False,
        periods_per_year=u.periods_per_year,
    )


def _linear_ae_r2(z_train: pd.DataFrame, z_test: pd.DataFrame, k: int, seed: int, cfg: FactorStudyConfig) -> float:
    ae = Autoencoder(z_train.shape[1], k, hidden_dims=[], activation="identity", seed=seed)
    trainer = AETrainer(batch_size=cfg.batch_size, lr=cfg.lr, validation_split=cfg.validation_split,
                        patience=cfg.patience, seed=seed, verbose=False)
    trainer.fit(ae, z_train.to_numpy(np.float32), epochs=cfg.epochs)
    recon = ae.decode(ae.encode(ae._as_input(z_test.to_numpy(np.float32)))).detach().numpy()
    return reconstruction_r2(z_test, recon)[0]


def _pca_r2(z_train: pd.DataFrame, z_test: pd.DataFrame, k: int) -> float:
    pca = PCA(n_components=k).fit(z_train.to_numpy())
    return reconstruction_r2(z_test, pca.inverse_transform(pca.transform(z_test.to_numpy())))[0]


def _simple(log_returns: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(np.expm1(log_returns.to_numpy()), index=log_returns.index, columns=log_returns.columns)


def _long_short(model: VAEFactorModel, test: pd.DataFrame, fraction: float, ppy: int
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Loading-sorted long-short books on the test span (simple returns, rf = 0): their performance and returns."""
    weights = loading_sorted_weights(model.factor_loadings(), fraction)
    simple = _simple(test)
    books = pd.DataFrame(simple.to_numpy() @ weights.to_numpy(), index=test.index, columns=weights.columns)
    perf = performance_summary(books, periods_per_year=ppy)
    assert isinstance(perf, pd.DataFrame)
    perf["corr_with_EW"] = books.corrwith(simple.mean(axis=1))
    return perf, books


def _paths(daily: np.ndarray, horizon: int, n_paths: int) -> np.ndarray:
    """Cumulative log-return paths from i.i.d. daily draws (rows of ``daily``), shape (n_paths, horizon)."""
    return daily[: n_paths * horizon].reshape(n_paths, horizon).cumsum(axis=1)


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


def _log(cfg: FactorStudyConfig, message: str) -> None:
    if cfg.verbose is not False:
        print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------------- one universe
def _analyse(u: Universe, cfg: FactorStudyConfig) -> _Output:
    returns, source = load_study_returns(u.data, u.path, u.input)
    train, test = split_by_date(returns, u.train_end, u.test_start, train_start=u.train_start, test_end=u.test_end)
    n_assets = returns.shape[1]
    if n_assets < 2:
        raise DataValidationError(f"universe {u.name!r} has {n_assets} asset column; a factor model needs at least 2.")
    if u.n_factors >= n_assets:
        raise ConfigError(f"universe {u.name!r}: n_factors={u.n_factors} must be smaller than the number of assets "
                          f"({n_assets}).")
    if len(test) < 20:
        raise DataValidationError(f"universe {u.name!r}: the test span has {len(test)} rows; at least 20 are needed. "
                                  "Move train_end earlier or test_end later.")
    k_grid = sorted({k for k in u.k_grid if k < n_assets} | {u.n_factors})
    out = _Output(universe=u, source=source, metrics={}, fingerprint=data_fingerprint(returns))
    ppy = u.periods_per_year

    # --- main model, one per seed ------------------------------------------------------------------------------
    models: dict[tuple[int, float, int], VAEFactorModel] = {}
    t0 = time.perf_counter()

    def fit(k: int, beta: float, seed: int) -> VAEFactorModel:
        key = (k, beta, seed)
        if key not in models:
            models[key] = _model(u, cfg, seed=seed, n_factors=k, beta=beta).fit(train)
        return models[key]

    seed_rows = []
    for seed in cfg.seeds:
        m = fit(u.n_factors, cfg.beta, seed)
        _, mean_abs = latent_correlation(m.train_factors_.mean)
        seed_rows.append({
            "seed": seed, "epochs_run": len(m.history_["train_loss"]), "best_epoch": m.history_.best_epoch + 1,
            "train_r2": m.score(train), "test_r2": m.score(test),
            "active_units": int((m.kl_per_factor_ > 0.01).sum()), "mean_abs_latent_corr": mean_abs,
        })
        _log(cfg, f"[{u.name}] seed {seed}: {seed_rows[-1]['epochs_run']} epochs, test R² "
                  f"{seed_rows[-1]['test_r2']:.3f}")
    seeds_table = pd.DataFrame(seed_rows).set_index("seed")
    model = models[(u.n_factors, cfg.beta, cfg.seeds[0])]
    out.model = model
    out.histories = {str(s): models[(u.n_factors, cfg.beta, s)].history_.to_dict() for s in cfg.seeds}
    scaler = Standardizer().fit(train)
    z_train, z_test = scaler.transform(train), scaler.transform(test)
    pca_r2 = _pca_r2(z_train, z_test, u.n_factors)
    r2_mean, r2_std = _mean_std(seeds_table["test_r2"].tolist())

    # --- explained variance against K ---------------------------------------------------------------------------
    k_rows, k_mean, k_std = [], {}, {}
    for k in k_grid:
        vae_r2 = [fit(k, cfg.beta, s).score(test) for s in cfg.seeds]
        lin_r2 = [_linear_ae_r2(z_train, z_test, k, s, cfg) for s in cfg.seeds]
        p = _pca_r2(z_train, z_test, k)
        (vm, vs), (lm, ls) = _mean_std(vae_r2), _mean_std(lin_r2)
        k_rows.append({"K": k, "VAE": _fmt(vm, vs), "linear AE": _fmt(lm, ls), "PCA": f"{p:.3f}",
                       "VAE − PCA": round(vm - p, 3)})
        k_mean[k], k_std[k] = {"VAE": vm, "linear AE": lm, "PCA": p}, {"VAE": vs, "linear AE": ls, "PCA": 0.0}
        _log(cfg, f"[{u.name}] K={k}: VAE {vm:.3f}, linear AE {lm:.3f}, PCA {p:.3f}")
    k_table = pd.DataFrame(k_rows).set_index("K")

    # --- β sweep ------------------------------------------------------------------------------------------------
    beta_rows = []
    for beta in u.beta_grid:
        r2s, corrs, actives, kls, sharpes, book_corrs = [], [], [], [], [], []
        for s in cfg.seeds:
            m = fit(u.n_factors, float(beta), s)
            r2s.append(m.score(test))
            corrs.append(latent_correlation(m.train_factors_.mean)[1])
            actives.append(int((m.kl_per_factor_ > 0.01).sum()))
            kls.append(float(m.kl_per_factor_.sum()))
            ls_perf, books = _long_short(m, test, cfg.long_short_fraction, ppy)
            sharpes.append(float(ls_perf["sharpe"].abs().mean()))
            book_corrs.append(latent_correlation(books)[1])  # mean |off-diagonal correlation| between the books
        beta_rows.append({
            "β": beta, "test R²": _fmt(*_mean_std(r2s)), "mean |latent corr|": _fmt(*_mean_std(corrs)),
            "active units": f"{np.mean(actives):.1f} / {u.n_factors}", "KL (nats/day)": _fmt(*_mean_std(kls), 2),
            "mean |Sharpe| of L/S books": _fmt(*_mean_std(sharpes), 2),
            "mean |corr| between L/S books": _fmt(*_mean_std(book_corrs), 2),
        })
        _log(cfg, f"[{u.name}] β={beta:g}: test R² {np.mean(r2s):.3f}, mean |corr| {np.mean(corrs):.3f}")
    fit_seconds = time.perf_counter() - t0

    # --- the reference model: factors, loadings, disentanglement -----------------------------------------------
    enc_train, enc_test = model.train_factors_, model.encode(test)
    factor_mean = pd.concat([enc_train.mean, enc_test.mean])
    factor_std = pd.concat([enc_train.std, enc_test.std])
    out.factors = pd.concat({"mean": factor_mean, "std": factor_std}, axis=1)
    out.factors.columns = ["_".join(map(str, c)) for c in out.factors.columns]
    loadings = model.factor_loadings()
    fd = model.factor_loadings(method="finite_difference")
    jac_err = float(np.abs(loadings.to_numpy() - fd.to_numpy()).max() / np.abs(loadings.to_numpy()).max())
    corr, mean_abs_corr = latent_correlation(enc_train.mean)
    kl_table = pd.DataFrame({"KL (nats/day)": model.kl_per_factor_,
                             "active": model.kl_per_factor_ > 0.01,
                             "posterior std (mean)": enc_train.std.mean()})
    grid = np.linspace(-3, 3, 25)
    base = model.decode(np.zeros((1, model.n_factors))).to_numpy()
    traversal = {}
    for k, name in enumerate(model.factor_names_):
        z = np.zeros((len(grid), model.n_factors))
        z[:, k] = grid
        traversal[name] = pd.DataFrame((model.decode(z).to_numpy() - base) * 100, index=grid, columns=model.columns_)
    ls_table, _ = _long_short(model, test, cfg.long_short_fraction, ppy)

    # --- scenarios vs the test span ----------------------------------------------------------------------------
    n = cfg.n_scenarios
    seed0 = cfg.seeds[0]
    prior = model.generate_scenarios(n, "prior", seed=seed0)
    prior_mean_only = model.generate_scenarios(n, "prior", seed=seed0, noise=False)
    rng = np.random.default_rng(seed0)
    gauss = pd.DataFrame(rng.multivariate_normal(train.mean().to_numpy(), train.cov().to_numpy(), n),
                         columns=returns.columns)
    test_corr = test.corr()
    kw: dict[str, Any] = {"reference_corr": test_corr, "periods_per_year": ppy}
    rows = {
        "historical test span": distribution_summary(test, **kw),
        "historical training span": distribution_summary(train, **kw),
        "VAE prior + idiosyncratic noise": distribution_summary(prior, **kw),
        "VAE prior, decoder mean only": distribution_summary(prior_mean_only, **kw),
        "Gaussian fitted on training": distribution_summary(gauss, **kw),
    }
    per_asset = pd.DataFrame({
        "test mean (ann.)": test.mean() * ppy, "VAE mean (ann.)": prior.mean() * ppy,
        "test vol (ann.)": test.std() * np.sqrt(ppy), "VAE vol (ann.)": prior.std() * np.sqrt(ppy),
        "Gaussian vol (ann.)": gauss.std() * np.sqrt(ppy),
        "test q01": test.quantile(0.01), "VAE q01": prior.quantile(0.01),
    })

    # --- stress ---------------------------------------------------------------------------------------------------
    ew = np.full(n_assets, 1.0 / n_assets)
    stress_metrics: dict[str, Any] = {}
    if u.stress_period is not None:
        period = (u.stress_period[0], u.stress_period[1])
        stressed = model.generate_scenarios(n, "stressed", stress_period=period, seed=seed0)
        rows[f"VAE stressed {period[0]} … {period[1]}"] = distribution_summary(stressed, **kw)
        stats = model.stress_statistics(period)
        realised = returns.loc[period[0]:period[1]]
        horizon = min(cfg.fan_horizon, max(len(realised), 5))
        n_paths = cfg.fan_paths
        draws = {
            "prior": model.generate_scenarios(n_paths * horizon, "prior", seed=seed0 + 1),
            "stressed": model.generate_scenarios(n_paths * horizon, "stressed", stress_period=period, seed=seed0 + 2),
        }
        port = {k: v.to_numpy() @ ew for k, v in draws.items()}
        port["realised"] = realised.to_numpy() @ ew
        paths = {k: _paths(port[k], horizon, n_paths) for k in draws}
        realised_path = pd.Series(np.cumsum(port["realised"][:horizon]), name=f"realised {period[0]} …")
        vols = {k: float(v.std(ddof=1) * np.sqrt(ppy)) for k, v in port.items()}
        tails = {k: var_es(v) for k, v in port.items()}
        stress_table = pd.DataFrame({
            "EW ann. vol": list(vols.values()),
            "EW 1% VaR": [t[0] for t in tails.values()],
            "EW 1% ES": [t[1] for t in tails.values()],
            f"{horizon}-day cum. return, median": [float(np.median(paths[k][:, -1])) for k in paths]
            + [float(realised_path.iloc[-1])],
            f"{horizon}-day cum. return, 5%": [float(np.quantile(paths[k][:, -1], 0.05)) for k in paths] + [np.nan],
        }, index=["VAE prior", "VAE stressed", "realised stress period"])
        stress_metrics = {
            "stress_period": list(period), "prior_ew_vol": vols["prior"], "stressed_ew_vol": vols["stressed"],
            "realised_stress_ew_vol": vols["realised"], "stressed_vol_ratio": vols["stressed"] / vols["prior"],
        }
        out.tables["stress_statistics"] = (stats, "Latent distribution of the stress period vs the training span")
        out.tables["stress_scenarios"] = (stress_table, "Equal-weight portfolio: prior vs stressed scenarios vs the "
                                          "realised stress period (daily log returns; VaR/ES as positive losses)")
        out.figures["stress_fan_chart"] = (figs.plot_fan_chart(
            paths, realised=realised_path, ylabel="cumulative EW log return",
            title=f"{u.name}: {horizon}-day paths, stressed ({period[0]} … {period[1]}) vs prior"),
            "Fan chart of i.i.d. daily scenarios cumulated over the horizon (no volatility clustering), "
            "with the realised path of the stress period")
    scenario_table = pd.DataFrame(rows).T

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
        "active_units": int((model.kl_per_factor_ > 0.01).sum()), "kl_per_factor": model.kl_per_factor_.tolist(),
        "mean_abs_latent_corr": mean_abs_corr, "jacobian_fd_rel_error": jac_err,
        "ew_factor_share": rd.factor_share, "ew_total_var_linear": rd.total_variance,
        "ew_total_var_mc": rd_mc.total_variance, "ew_realised_train_var": realised_train_var,
        "euler_sum_error": float(abs(rd.factor_contributions.sum() - rd.factor_variance)),
        "fit_seconds": fit_seconds, "n_fits": len(models),
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
    out.tables["risk_decomposition"] = (risk_table, f"Equal-weight portfolio variance (daily log returns): "
                                        "linearised Euler contributions (sum to the factor total to "
                                        f"{out.metrics['euler_sum_error']:.0e}) and Monte Carlo through the decoder "
                                        f"({cfg.n_scenarios} draws; per-factor = stand-alone). Realised training-span "
                                        f"variance: {realised_train_var:.3g}")
    out.figures["risk_assets"] = (figs.plot_bars(asset_contrib, ylabel="share of variance",
                                                 title="Euler contributions of each asset (EW portfolio)"),
                                  "Per-asset Euler contributions to the equal-weight portfolio's variance (linearised)")
    return out


# ----------------------------------------------------------------------------------------------------- run
def run(config: FactorStudyConfig) -> FactorStudyResult:
    """Run the study on every universe and write one run directory; see the module docstring."""
    cfg = config
    cfg.validate()
    t0 = time.perf_counter()
    outputs = [_analyse(u, cfg) for u in cfg.universes]
    # the run directory is created only once every fit succeeded: a bad option leaves nothing behind
    names = ", ".join(o.universe.name for o in outputs)
    run_dir = RunDirectory(cfg.out, title=f"VAE factor model — {names}")
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
        o.model.save(run_dir.path / "model" / tag)
        o.factors.to_parquet(run_dir.path / f"factors_{tag}.parquet")
        run_dir.save_json(f"history_{tag}.json", o.histories)
    metrics = {"universes": {o.universe.name: o.metrics for o in outputs}}
    report = run_dir.finish(
        config=asdict(cfg), metrics=metrics,
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
    short report. Returns a one-paragraph summary."""
    model = VAEFactorModel(n_factors=n_factors, input="log_returns", beta=beta,
                           hidden_dims=tuple([64, 32] if hidden_dims is None else hidden_dims), epochs=epochs,
                           seed=seed, verbose=verbose, periods_per_year=periods_per_year).fit(returns)
    run_dir = RunDirectory(out, title=f"VAE factor model fit — {source}")
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
    factors.to_parquet(run_dir.path / "factors.parquet")
    metrics = {"in_sample_r2": model.score(returns), "kl_per_factor": model.kl_per_factor_.tolist(),
               "epochs_run": len(model.history_["train_loss"])}
    report = run_dir.finish(config={"source": source, "n_factors": n_factors, "beta": beta, "seed": seed,
                                    "hidden_dims": list(model.hidden_dims), "epochs": epochs},
                            metrics=metrics, manifest={"data_fingerprint": data_fingerprint(returns)})
    return (f"fitted K={n_factors} factors on {returns.shape[1]} assets × {len(returns)} days "
            f"(in-sample R² {metrics['in_sample_r2']:.3f}, {metrics['epochs_run']} epochs); model: "
            f"{run_dir.path / 'model'}; report: {report}")

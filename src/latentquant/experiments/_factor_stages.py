"""The per-universe stages of the VAE factor-model study: data checks, fits, tables, figures and metrics."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from latentquant.data import Standardizer, split_by_date
from latentquant.evaluation import (
    active_units,
    annualised_moments,
    gaussian_scenarios,
    horizon_comparison,
    latent_correlation,
    likelihood_benchmark,
    linear_autoencoder_benchmark,
    loading_discrepancy,
    loading_sorted_books,
    mean_std,
    pca_benchmark,
    random_long_only_weights,
    sample_var_backtest,
    scenario_quality,
    var_es,
    variance_calibration,
)
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.experiments._data import load_study_returns
from latentquant.experiments._factor_config import FactorStudyConfig, Universe
from latentquant.models.factor import VAEFactorModel
from latentquant.reports import data_fingerprint, format_mean_std
from latentquant.reports import figures as figs


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
                seed=seed, verbose=False, periods_per_year=self.u.periods_per_year, likelihood=cfg.likelihood,
                linear_skip=cfg.linear_skip, init=cfg.init, free_bits=cfg.free_bits,
                kl_warmup=cfg.kl_warmup,
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
        vae_nll = [-fit(k, cfg.beta, s).log_likelihood(test).mean() for s in cfg.seeds]
        lin_r2 = [linear_autoencoder_benchmark(
            z_train, z_test, k, seed=s, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
            validation_split=cfg.validation_split, patience=cfg.patience).test_r2 for s in cfg.seeds]
        p = pca_benchmark(z_train, z_test, k).test_r2
        lik = likelihood_benchmark(z_train, z_test, k)
        (vm, vs), (lm, ls), (nm, ns) = mean_std(vae_r2), mean_std(lin_r2), mean_std(vae_nll)
        k_rows.append({"K": k, "VAE": _fmt(vm, vs), "linear AE": _fmt(lm, ls), "PCA": f"{p:.3f}",
                       "VAE − PCA": round(vm - p, 3), "NLL VAE": _fmt(nm, ns, 2), "NLL PPCA": f"{-lik.ppca_test:.2f}",
                       "NLL FA": f"{-lik.fa_test:.2f}"})
        k_mean[k] = {"VAE": vm, "linear AE": lm, "PCA": p, "NLL VAE": nm, "NLL PPCA": -lik.ppca_test,
                     "NLL FA": -lik.fa_test}
        k_std[k] = {"VAE": vs, "linear AE": ls, "PCA": 0.0, "NLL VAE": ns}
        _log(cfg, f"[{u.name}] K={k}: VAE {vm:.3f}, linear AE {lm:.3f}, PCA {p:.3f}; held-out NLL VAE {nm:.2f}, "
                  f"PPCA {-lik.ppca_test:.2f}, FA {-lik.fa_test:.2f}")
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
        "stressed": model.generate_paths(n_paths, horizon, stress_period=period, seed=seed0 + 2,
                                         data=data).reset_index(drop=True),
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
        "Fan chart of the stressed paths, which replay the stress period's factor dynamics (block bootstrap of its "
        "posterior draws, mean block 20 days), against i.i.d. prior days cumulated over the horizon, with the "
        "realised path of the stress period")
    return {
        "stress_period": list(period), "prior_ew_vol": float(vols["prior"]),
        "stressed_ew_vol": float(vols["stressed"]), "realised_stress_ew_vol": float(vols["realised"]),
        "stressed_vol_ratio": float(vols["stressed"]) / float(vols["prior"]),
    }


def _ew_var_backtests(scenario_sets: dict[str, pd.DataFrame], test: pd.DataFrame, ew: np.ndarray,
                      seed: int) -> pd.DataFrame:
    """The equal-weight book's static VaR/ES of each training-span scenario set, backtested on the test span at 1% and
    5% (sets of the test span itself and of a stress period are not forecasts of the test span and are left out)."""
    realised = test.to_numpy() @ ew
    rows: dict[tuple[str, float], dict[str, Any]] = {}
    for name, draws in scenario_sets.items():
        if name.startswith(("historical test span", "VAE stressed")):
            continue
        book = draws.to_numpy() @ ew
        for p in (0.01, 0.05):
            bt = sample_var_backtest(realised, book, p=p, seed=seed)
            var, es = var_es(book, p)
            rows[(name, p)] = {"VaR": var, "ES": es, "hits": bt.hits, "expected": p * bt.n, "Kupiec p": bt.pof_pvalue,
                               "independence p": bt.ind_pvalue, "cc p": bt.cc_pvalue, "Z2": bt.z2,
                               "Z2 p": bt.z2_pvalue}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(["scenarios", "p"])


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


def _calibration(cfg: FactorStudyConfig, model: VAEFactorModel, train: pd.DataFrame, test: pd.DataFrame
                 ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Realised (test span) / predicted variance of the equal-weight book and 100 random long-only portfolios, for
    the VAE's covariance (Monte Carlo through the decoder, and linearised) beside probabilistic PCA, factor analysis
    and the training span's sample covariance."""
    from sklearn.decomposition import PCA, FactorAnalysis

    k, seed = model.n_factors, cfg.seeds[0]
    scale = train.std().to_numpy()
    z_train = (train - train.mean()) / scale
    outer = np.outer(scale, scale)
    covariances = {
        "VAE (Monte Carlo)": model.covariance(n_samples=cfg.n_scenarios, seed=seed),
        "VAE (linearised)": model.covariance(method="linear"),
        f"PPCA (K={k})": PCA(k).fit(z_train).get_covariance() * outer,
        f"FA (K={k})": FactorAnalysis(k, random_state=0).fit(z_train).get_covariance() * outer,
        "sample covariance": train.cov(),
    }
    ew = pd.DataFrame(np.full((1, train.shape[1]), 1.0 / train.shape[1]), index=["EW"], columns=train.columns)
    random = random_long_only_weights(100, train.columns, seed=seed)
    rows, metrics = {}, {}
    for name, cov in covariances.items():
        e = variance_calibration(cov, test, ew, seed=seed)
        r = variance_calibration(cov, test, random, seed=seed)
        row = e.portfolios.iloc[0]
        rows[name] = {"EW ratio": f"{row['ratio']:.3f} [{row['ratio_low']:.3f}, {row['ratio_high']:.3f}]",
                      "random: mean ratio": f"{r.mean_ratio:.3f} [{r.mean_ratio_low:.3f}, {r.mean_ratio_high:.3f}]",
                      "random: median": round(r.median_ratio, 3), "random: CI covers 1": f"{r.coverage:.0%}"}
        metrics[name] = {"ew_ratio": float(row["ratio"]), "ew_ratio_low": float(row["ratio_low"]),
                         "ew_ratio_high": float(row["ratio_high"]), "random_mean_ratio": r.mean_ratio,
                         "random_mean_ratio_low": r.mean_ratio_low, "random_mean_ratio_high": r.mean_ratio_high,
                         "random_median_ratio": r.median_ratio, "random_coverage": r.coverage}
    return pd.DataFrame(rows).T, metrics


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
    var_table = _ew_var_backtests(scenario_sets, test, ew, seed0)

    # --- risk decomposition of the equal-weight portfolio ----------------------------------------------------
    rd = model.risk_decomposition(ew)
    rd_mc = model.risk_decomposition(ew, method="monte_carlo", n_samples=cfg.n_scenarios, seed=seed0)
    risk_table = pd.concat([rd.table(), rd_mc.table().add_suffix(" (MC)")], axis=1)
    risk_table = risk_table.reindex([*model.factor_names_, "interaction", "factor total", "idiosyncratic", "total"])
    realised_train_var = float((train.to_numpy() @ ew).var(ddof=1))
    calibration_table, calibration = _calibration(cfg, model, train, test)
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
        "ew_total_var_mc": rd_mc.total_variance, "ew_factor_share_mc": rd_mc.factor_share,
        "ew_realised_train_var": realised_train_var, "variance_calibration": calibration,
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
                             f"{len(cfg.seeds)} seeds; PCA is deterministic) and held-out NLL: the negative mean "
                             "log-likelihood per test day of the standardised returns, in nats (VAE: importance-"
                             "weighted bound, 100 samples; probabilistic PCA and factor analysis: exact, maximum-"
                             "likelihood fits on the training span); lower is better")
    km, ks = pd.DataFrame(k_mean).T, pd.DataFrame(k_std).T
    r2_cols, nll_cols = ["VAE", "linear AE", "PCA"], ["NLL VAE", "NLL PPCA", "NLL FA"]
    out.figures["r2_by_k"] = (figs.plot_metric_curves(km[r2_cols], ks[r2_cols], xlabel="number of factors K",
                                                      ylabel="test R²"),
                              "Test-span explained variance against K (±1 std over seeds)")
    out.figures["nll_by_k"] = (figs.plot_metric_curves(km[nll_cols], ks.reindex(columns=nll_cols),
                                                       xlabel="number of factors K", ylabel="test NLL (nats/day)"),
                               "Held-out negative log-likelihood against K (lower is better; VAE ±1 std over "
                               "seeds)")
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
    out.tables["var_backtests"] = (var_table, "Backtests of the equal-weight book's static one-day VaR and ES of "
                                   "each scenario set fitted on the training span, on the test span's daily log "
                                   "returns (positive losses at tail probability p; Kupiec: hit rate = p? "
                                   "independence: do hits cluster? cc: both; Z2: Acerbi–Székely's ES test, negative "
                                   "= tail understated, p-value from 500 resampled histories)")
    out.tables["scenario_per_asset"] = (per_asset, "Per asset: annualised mean and volatility and the 1% quantile, "
                                        "test span vs VAE prior scenarios")
    err = out.metrics["euler_sum_error"]
    closeness = "exactly" if err == 0 else f"within {err:.1e}"
    out.tables["risk_decomposition"] = (risk_table, f"Equal-weight portfolio variance (daily log returns): "
                                        f"linearised Euler contributions (sum to the factor total {closeness}) "
                                        "and Monte Carlo through the decoder "
                                        f"({cfg.n_scenarios} draws; per-factor = stand-alone). Realised training-span "
                                        f"variance: {realised_train_var:.3g}")
    out.tables["variance_calibration"] = (calibration_table, "Is the risk model calibrated? Realised test-span "
                                          "variance / predicted variance (daily log returns; 1 = calibrated, > 1 = "
                                          "risk understated) of the equal-weight book and of 100 random long-only "
                                          "portfolios (Dirichlet weights), each covariance fitted on the training "
                                          "span. 95% intervals: stationary block bootstrap of the test days (mean "
                                          "block 20); 'CI covers 1' = share of the random portfolios whose interval "
                                          "contains 1. VAE idiosyncratic variance: the learned observation noise")
    out.figures["risk_assets"] = (figs.plot_bars(asset_contrib, ylabel="share of variance",
                                                 title="Euler contributions of each asset (EW portfolio)"),
                                  "Per-asset Euler contributions to the equal-weight portfolio's variance (linearised)")
    return out

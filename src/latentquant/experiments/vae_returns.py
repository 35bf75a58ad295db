"""Study: a β-VAE fitted to standardised daily log returns of a set of assets, evaluated out of sample.

Protocol (time-ordered, nothing fitted on the test span):

1. log returns from prices; training span ``[start, train_end]``, test span ``[test_start, test_end]``;
2. per-asset standardisation fitted on the training span only;
3. a VAE per seed trained on the training span (its last ``validation_split`` share for early stopping);
4. out-of-sample explained variance (R² of the reconstruction at the posterior mean, benchmark = training mean)
   against PCA with the same number of components fitted on the same training rows;
5. latent factors with posterior uncertainty, active latent units, anomaly scores with a threshold set on the
   training span, and scenario quality: decoded prior samples vs the historical test span and a Gaussian baseline.

Everything lands in a run directory (see :class:`~latentquant.reports.RunDirectory`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch

from latentquant._io import atomic_write
from latentquant._math import kl_standard_normal
from latentquant.data import Standardizer, split_by_date
from latentquant.evaluation import (
    active_units,
    gaussian_scenarios,
    pca_benchmark,
    reconstruction_r2,
    scenario_quality,
)
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.experiments._config import StudyConfig, StudyResult
from latentquant.experiments._data import STUDY_MISSING, load_study_returns
from latentquant.models.autoencoder import VAE, AETrainer, anomaly_threshold
from latentquant.reports import RunDirectory, data_fingerprint, format_mean_std
from latentquant.reports import figures as figs
from latentquant.validation import Interval, Options, SequenceOf, check_arg

__all__ = ["VAEReturnsConfig", "VAEReturnsResult", "run"]


@dataclass
class VAEReturnsConfig(StudyConfig):
    """Every choice of the study, explicit. ``data`` names a bundled dataset; ``path`` a user CSV/Parquet file.

    Read one from a mapping (parsed YAML) with :meth:`from_dict`; :func:`run` calls :meth:`validate`.

    Parameters
    ----------
    data : str or None, default "sp500_stocks"
        A bundled dataset of prices; give exactly one of ``data`` and ``path``.
    path : str or None
        A user CSV/Parquet file.
    input : {"prices", "returns"}, default "prices"
        What the file holds: prices (log returns are taken) or returns (used as given).
    missing : {"error", "drop"} or None
        Missing values: an error naming each column's count, or drop the dates where any column is missing
        (``None``: drop for a bundled dataset, error for a user file).
    min_history : int or None
        Drop the assets with fewer values than this first (assets that start late).
    value_column : str or None
        The value column of a long-layout file with several numeric columns.
    train_start, train_end, test_start, test_end : str or None
        Inclusive span dates (:func:`~latentquant.data.split_by_date`; ``train_end`` is required).
    latent_dim : int, default 5
        Number of latent factors (smaller than the number of assets).
    hidden_dims : list of int, default [64, 32]
        Hidden layer widths of encoder and decoder.
    beta : float, default 1.0
        Weight of the KL term.
    epochs, batch_size, patience : int
        Training options (early stopping after ``patience`` epochs without improvement).
    lr : float, default 1e-3
        Adam learning rate.
    validation_split : float, default 0.2
        Share of the training span, from its end, held out for early stopping.
    seeds : list of int, default [0, 1, 2]
        Seeds of the repeated fits (mean ± std); the first seed's model is shown.
    n_scenarios : int, default 20000
        Scenarios decoded from the prior for the scenario-quality table (at least 100).
    anomaly_quantile : float, default 0.99
        Training-span quantile of the anomaly score used as the threshold, in ``(0.5, 1)``.
    kl_weight : float, default 0.1
        Weight of the KL term in the anomaly score.
    out : str, default "runs/vae"
        The run directory.
    verbose : bool or None
        ``False`` silences the progress lines and the training progress.

    Examples
    --------
    >>> cfg = VAEReturnsConfig.from_dict({"latent_dim": 3, "seeds": [0]})
    >>> cfg.validate()
    >>> cfg.to_dict()["hidden_dims"]
    [64, 32]
    """

    data: str | None = "sp500_stocks"
    path: str | None = None
    input: str = "prices"  # 'prices' (log returns are taken) or 'returns' (used as given)
    missing: str | None = None
    min_history: int | None = None
    value_column: str | None = None
    train_start: str | None = None
    train_end: str = "2015-12-31"
    test_start: str | None = None
    test_end: str | None = None
    latent_dim: int = 5
    hidden_dims: list[int] = field(default_factory=lambda: [64, 32])
    beta: float = 1.0
    epochs: int = 300
    batch_size: int = 128
    lr: float = 1e-3
    validation_split: float = 0.2
    patience: int = 20
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    n_scenarios: int = 20000
    anomaly_quantile: float = 0.99
    kl_weight: float = 0.1
    out: str = "runs/vae"
    verbose: bool | None = None

    def validate(self) -> None:
        """Raise :class:`~latentquant.exceptions.ConfigError` for the first invalid option."""
        if (self.data is None) == (self.path is None):
            raise ConfigError("Give exactly one data source: a bundled dataset name (data) or a file path (path).")
        if self.input not in ("prices", "returns"):
            raise ConfigError(f"input must be 'prices' or 'returns', got {self.input!r}.")
        check_arg("missing", self.missing, Options(*STUDY_MISSING), None)
        check_arg("min_history", self.min_history, Interval(Integral, 2, None), None)
        check_arg("value_column", self.value_column, str, None)
        if self.data is not None and self.input != "prices":
            raise ConfigError("input='returns' applies to user files only; bundled datasets are read in their own "
                              "units (prices), so drop --returns when using --data.")
        for name in ("latent_dim", "epochs", "batch_size", "patience"):
            check_arg(name, getattr(self, name), Interval(Integral, 1, None))
        check_arg("hidden_dims", self.hidden_dims, SequenceOf(Interval(Integral, 1, None)))
        check_arg("seeds", self.seeds, SequenceOf(Interval(Integral, 0, None), min_len=1))
        check_arg("beta", self.beta, Interval(Real, 0, None))
        check_arg("lr", self.lr, Interval(Real, 0, None, closed="neither"))
        check_arg("validation_split", self.validation_split, Interval(Real, 0, 1, closed="left"))
        check_arg("anomaly_quantile", self.anomaly_quantile, Interval(Real, 0.5, 1, closed="neither"))
        check_arg("kl_weight", self.kl_weight, Interval(Real, 0, None))
        check_arg("n_scenarios", self.n_scenarios, Interval(Integral, 100, None))
        check_arg("verbose", self.verbose, "boolean", None)


@dataclass(frozen=True)
class VAEReturnsResult(StudyResult):
    """What :func:`run` produced: the run directory, headline metrics and the tables ``r2``, ``r2_per_seed``,
    ``scenario_quality``, ``top_anomalies``, ``latent_mean`` and ``latent_std`` (read-only; :meth:`table` and the
    properties hand out copies).

    Attributes
    ----------
    path : pathlib.Path
        The run directory.
    metrics : mapping
        Headline numbers, as in ``metrics.json``.
    tables : mapping of str to pandas.DataFrame
        The tables above by name.

    Examples
    --------
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> metrics = {"vae_test_r2_mean": 0.391, "vae_test_r2_std": 0.006, "n_seeds": 3, "pca_test_r2": 0.402,
    ...            "active_units": 4, "latent_dim": 5}
    >>> r2 = pd.DataFrame({"test_r2": [0.391, 0.402]}, index=["VAE", "PCA"])
    >>> result = VAEReturnsResult(path=Path("runs/vae"), metrics=metrics, tables={"r2": r2})
    >>> print(result.summary())
    VAE test R² 0.391 ± 0.006 (n=3 seeds) vs PCA 0.402; active latent units 4/5; report: runs/vae/report.html
    >>> float(result.r2_table.loc["PCA", "test_r2"])
    0.402

    With one seed the spread is not defined (``metrics.json`` holds ``null``), and none is printed:

    >>> one = VAEReturnsResult(path=Path("runs/vae"), metrics={**metrics, "vae_test_r2_std": None, "n_seeds": 1})
    >>> print(one.summary())
    VAE test R² 0.391 (1 seed) vs PCA 0.402; active latent units 4/5; report: runs/vae/report.html
    """

    @property
    def r2_table(self) -> pd.DataFrame:
        """Explained variance, VAE vs PCA (a copy of table ``r2``)."""
        return self.table("r2")

    @property
    def scenario_table(self) -> pd.DataFrame:
        """Scenario quality against the historical spans (a copy of table ``scenario_quality``)."""
        return self.table("scenario_quality")

    @property
    def latent_mean(self) -> pd.DataFrame:
        """Posterior means of the first seed's latent factors on every date (a copy)."""
        return self.table("latent_mean")

    @property
    def latent_std(self) -> pd.DataFrame:
        """Posterior standard deviations of the first seed's latent factors on every date (a copy)."""
        return self.table("latent_std")

    def summary(self) -> str:
        """One line: test R² of the VAE (mean ± std over seeds) vs PCA, active units and the report's path."""
        m = self.metrics
        n = m["n_seeds"]
        vae = format_mean_std(m["vae_test_r2_mean"], m["vae_test_r2_std"], n) + (f" (n={n} seeds)" if n > 1 else "")
        return (f"VAE test R² {vae} vs PCA {format_mean_std(m['pca_test_r2'])}; active latent units "
                f"{m['active_units']}/{m['latent_dim']}; report: {self.report}")


def _load(cfg: VAEReturnsConfig) -> tuple[pd.DataFrame, str]:
    # a user returns file is used as given ('returns' here means "already returns", not simple returns)
    return load_study_returns(cfg.data, cfg.path, "prices" if cfg.input == "prices" else "log_returns",
                              missing=cfg.missing, min_history=cfg.min_history, value_column=cfg.value_column)


def _kl_per_dim(mu: torch.Tensor, log_var: torch.Tensor) -> np.ndarray:
    """Mean KL of each latent dimension from the prior over the rows: the active-unit statistic."""
    return kl_standard_normal(mu, log_var).mean(0).cpu().numpy()


def run(config: VAEReturnsConfig) -> VAEReturnsResult:
    """Run the study and write its run directory; see the module docstring for the protocol.

    Parameters
    ----------
    config : VAEReturnsConfig
        Every choice of the study; validated first, before any data are read.

    Returns
    -------
    VAEReturnsResult

    Raises
    ------
    ConfigError
        An invalid option.

    Examples
    --------
    One seed on the bundled S&P 500 stocks (a minute or two on a laptop):

    >>> result = run(VAEReturnsConfig(seeds=[0], epochs=50, out="runs/vae"))  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP

    A bad option fails at once:

    >>> run(VAEReturnsConfig(anomaly_quantile=0.3))
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: anomaly_quantile must be a number in (0.5, 1), got 0.3.
    """
    cfg = config
    cfg.validate()
    t_start = time.perf_counter()
    returns, source = _load(cfg)
    train, test = split_by_date(returns, cfg.train_end, cfg.test_start, train_start=cfg.train_start,
                                test_end=cfg.test_end)
    n_assets = returns.shape[1]
    if n_assets < 2:
        raise DataValidationError(f"The data have {n_assets} asset column; a latent factor model needs at least 2.")
    if cfg.latent_dim >= n_assets:
        raise ConfigError(
            f"latent_dim={cfg.latent_dim} must be smaller than the number of assets ({n_assets}); "
            "a bottleneck as wide as the data explains nothing."
        )
    if len(train) < 5 * cfg.latent_dim or len(train) < 20:
        raise DataValidationError(
            f"The training span has {len(train)} rows; at least {max(20, 5 * cfg.latent_dim)} are needed for "
            f"latent_dim={cfg.latent_dim}. Move train_end later or use fewer factors."
        )
    if len(test) < 20:
        raise DataValidationError(
            f"The test span has {len(test)} rows; at least 20 are needed for out-of-sample statistics. "
            "Move train_end earlier or test_end later."
        )
    scaler = Standardizer().fit(train)
    z_train, z_test = scaler.transform(train), scaler.transform(test)
    z_all = pd.concat([z_train, z_test])
    load_seconds = time.perf_counter() - t_start

    # --- fit one VAE per seed -------------------------------------------------------------------------------
    rows, models, histories, test_r2_cols = [], [], [], []
    t_fit = time.perf_counter()
    for seed in cfg.seeds:
        vae = VAE(n_assets, cfg.latent_dim, cfg.hidden_dims, seed=seed)
        trainer = AETrainer(beta=cfg.beta, batch_size=cfg.batch_size, lr=cfg.lr,
                            validation_split=cfg.validation_split, patience=cfg.patience, seed=seed,
                            verbose=cfg.verbose)
        history = trainer.fit(vae, z_train, epochs=cfg.epochs)
        recon_tr, recon_te = vae.reconstruct(z_train), vae.reconstruct(z_test)
        with torch.no_grad():
            mu, log_var = vae.encode(torch.tensor(z_train.to_numpy(), dtype=torch.float32))
        kl_dims = _kl_per_dim(mu, log_var)
        rows.append({
            "seed": seed,
            "epochs_run": len(history["train_loss"]),
            "best_epoch": history.best_epoch + 1,
            "train_r2": reconstruction_r2(z_train, recon_tr)[0],
            "test_r2": (test_r2 := reconstruction_r2(z_test, recon_te))[0],
            "active_units": active_units(kl_dims),
            "train_kl_per_day": float(kl_dims.sum()),
        })
        test_r2_cols.append(test_r2[1])
        models.append(vae)
        histories.append(history)
        if cfg.verbose is not False:
            print(f"seed {seed}: {rows[-1]['epochs_run']} epochs, train R² {rows[-1]['train_r2']:.3f}, "
                  f"test R² {rows[-1]['test_r2']:.3f}", file=sys.stderr, flush=True)
    # the run directory is created only once the fits succeeded: a bad option leaves nothing behind
    run_dir = RunDirectory(cfg.out, title=f"β-VAE on daily log returns — {source}", started=t_start)
    run_dir.timings.update(load_seconds=load_seconds, fit_seconds=time.perf_counter() - t_fit)
    seeds_table = pd.DataFrame(rows).set_index("seed")

    pca_train_r2, pca_test_r2, pca_test_cols = pca_benchmark(z_train, z_test, cfg.latent_dim)

    vae, history = models[0], histories[0]
    vae_test_cols = test_r2_cols[0]
    factor_names = [f"f{k + 1}" for k in range(cfg.latent_dim)]
    with torch.no_grad():
        mu_all, log_var_all = vae.encode(torch.tensor(z_all.to_numpy(), dtype=torch.float32))
    latent_mean = pd.DataFrame(mu_all.numpy(), index=z_all.index, columns=factor_names)
    latent_std = pd.DataFrame(torch.exp(0.5 * log_var_all).numpy(), index=z_all.index, columns=factor_names)
    kl_dims = _kl_per_dim(mu_all[: len(z_train)], log_var_all[: len(z_train)])

    # --- anomalies: threshold from the training span only -----------------------------------------------------
    scores = pd.Series(vae.anomaly_score(z_all, kl_weight=cfg.kl_weight), index=z_all.index, name="score")
    threshold = anomaly_threshold(scores.loc[z_train.index], cfg.anomaly_quantile)
    test_scores = scores.loc[z_test.index]
    top = test_scores.nlargest(10).to_frame()
    top["equal_weight_log_return"] = test.loc[top.index].mean(axis=1)
    top.index = pd.DatetimeIndex(top.index).strftime("%Y-%m-%d")

    # --- scenarios vs history ---------------------------------------------------------------------------------
    scen_std = vae.sample(cfg.n_scenarios, noise=True, seed=cfg.seeds[0]).numpy()
    scen_mean_only = vae.sample(cfg.n_scenarios, noise=False, seed=cfg.seeds[0]).numpy()
    to_returns = scaler.inverse_transform
    scen = pd.DataFrame(to_returns(scen_std), columns=returns.columns)
    scen_mean = pd.DataFrame(to_returns(scen_mean_only), columns=returns.columns)
    gauss = gaussian_scenarios(train, cfg.n_scenarios, seed=cfg.seeds[0])
    scenario_table = scenario_quality({
        "historical test span": test,
        "historical training span": train,
        "VAE prior + obs. noise": scen,
        "VAE prior, decoder mean": scen_mean,
        "Gaussian fitted on training": gauss,
    }, test)

    r2_table = pd.DataFrame({
        "train R²": [seeds_table["train_r2"].mean(), pca_train_r2],
        "test R²": [seeds_table["test_r2"].mean(), pca_test_r2],
        # a spread over one fit is not defined (PCA has no seed): NaN, shown empty and written as null
        "test R² std (seeds)": [seeds_table["test_r2"].std(ddof=1) if len(seeds_table) > 1 else np.nan, np.nan],
        "n": [len(seeds_table), 1],
    }, index=[f"VAE (K={cfg.latent_dim}, β={cfg.beta:g})", f"PCA (K={cfg.latent_dim})"])
    per_asset = pd.DataFrame({"VAE": vae_test_cols, "PCA": pca_test_cols}, index=returns.columns)

    metrics = {
        "n_assets": n_assets, "latent_dim": cfg.latent_dim, "beta": cfg.beta, "n_seeds": len(cfg.seeds),
        "train_rows": len(train), "test_rows": len(test),
        "train_span": [str(train.index[0].date()), str(train.index[-1].date())],
        "test_span": [str(test.index[0].date()), str(test.index[-1].date())],
        "vae_test_r2_mean": float(seeds_table["test_r2"].mean()),
        "vae_test_r2_std": float(seeds_table["test_r2"].std(ddof=1)) if len(seeds_table) > 1 else float("nan"),
        "vae_train_r2_mean": float(seeds_table["train_r2"].mean()),
        "pca_test_r2": pca_test_r2, "pca_train_r2": pca_train_r2,
        "active_units": active_units(kl_dims),
        "kl_per_dim_train": kl_dims.tolist(),
        "anomaly_threshold": threshold, "anomaly_quantile": cfg.anomaly_quantile,
        "test_days_flagged": int((test_scores > threshold).sum()),
        "test_share_flagged": float((test_scores > threshold).mean()),
        "per_seed": seeds_table.reset_index().to_dict(orient="records"),
    }

    # --- write the run directory ------------------------------------------------------------------------------
    out = run_dir.path
    atomic_write(out / "latent_features.parquet", latent_mean.to_parquet)
    atomic_write(out / "latent_std.parquet", latent_std.to_parquet)
    vae.save(out / "model", metadata={"scaler_mean": scaler.mean_.tolist(), "scaler_scale": scaler.scale_.tolist(),
                                      "columns": [str(c) for c in returns.columns]})
    run_dir.save_json("history.json", {str(s): h.to_dict() for s, h in zip(cfg.seeds, histories, strict=True)})

    split = z_test.index[0]
    run_dir.section(
        "Set-up",
        f"Data: {source}; {n_assets} assets, daily log returns.\n"
        f"Training span {metrics['train_span'][0]} … {metrics['train_span'][1]} ({len(train)} days; the last "
        f"{cfg.validation_split:.0%} of it is the early-stopping validation block). Test span "
        f"{metrics['test_span'][0]} … {metrics['test_span'][1]} ({len(test)} days), never used for fitting.\n"
        "Returns standardised per asset with training-span mean and standard deviation. "
        f"VAE: hidden {cfg.hidden_dims}, latent K={cfg.latent_dim}, β={cfg.beta:g}, Adam lr={cfg.lr:g}, "
        f"batch {cfg.batch_size}, up to {cfg.epochs} epochs, patience {cfg.patience}, seeds {cfg.seeds}.",
    )
    run_dir.section(
        "Explained variance",
        "R² = 1 − SSE/SST pooled over all assets and days, on standardised returns, with the training mean (0) as "
        "the benchmark; the VAE reconstructs from the posterior mean. Mean ± std over seeds.",
    )
    run_dir.save_table("r2", r2_table, "Explained variance, VAE vs PCA")
    run_dir.save_table("r2_per_seed", seeds_table, "Per seed")
    run_dir.save_figure("r2_per_asset", figs.plot_bars(per_asset, ylabel="test R²", title="Test R² per asset"),
                        "Out-of-sample R² per asset (VAE seed 0 vs PCA)")
    run_dir.section("Training", "Loss per sample: summed squared error + β·KL; dashed = validation block.")
    kept = history.best_epoch if history.restored_best else None
    run_dir.save_figure("loss_curves", figs.plot_loss_curves(history, best_epoch=kept),
                        f"Loss curves (seed {cfg.seeds[0]})")
    run_dir.section(
        "Latent factors",
        f"Posterior means with ±2σ posterior bands; the dashed line marks the start of the test span. KL per latent "
        f"dimension on the training span: {', '.join(f'{v:.2f}' for v in kl_dims)} — "
        f"{metrics['active_units']} of {cfg.latent_dim} dimensions are active (KL > 0.01 nats).",
    )
    run_dir.save_figure("latent_factors", figs.plot_series_with_band(latent_mean, latent_std, split_date=split),
                        "Latent factors over time")
    color = pd.concat([train.mean(axis=1), test.mean(axis=1)]).rolling(21, min_periods=2).std() * np.sqrt(252)
    run_dir.save_figure("latent_scatter", figs.plot_latent_scatter(latent_mean, color=color,
                                                                   color_label="21-day vol of EW portfolio"),
                        "First two latent dimensions, coloured by the equal-weight portfolio's 21-day volatility")
    run_dir.section(
        "Anomalies",
        f"Score = mean squared reconstruction error + {cfg.kl_weight:g}·KL. Threshold = the {cfg.anomaly_quantile:.0%} "
        f"quantile of training-span scores ({threshold:.3f}); {metrics['test_days_flagged']} test days "
        f"({metrics['test_share_flagged']:.1%}) exceed it.",
    )
    run_dir.save_figure("anomaly_scores", figs.plot_threshold_series(scores, threshold, split_date=split),
                        "Anomaly score over time (log scale)")
    run_dir.save_table("top_anomalies", top, "Most anomalous test days")
    run_dir.section(
        "Scenarios",
        f"{cfg.n_scenarios} one-day scenarios from z ~ N(0, I), decoded and mapped back to log returns, compared with "
        "the historical spans and with a Gaussian fitted on the training span. Volatility annualised with √252; "
        "VaR/ES of the equal-weight portfolio at 1%, as positive daily losses; corr_distance = ‖C − C_test‖_F / N.",
    )
    run_dir.save_table("scenario_quality", scenario_table, "Scenario quality")
    run_dir.save_figure("scenario_correlation", figs.plot_correlation_pair(
        test.corr(), scen.corr(), ("historical test span", "VAE scenarios")), "Correlation matrices")

    report = run_dir.finish(
        config=cfg.to_dict(), metrics=metrics,
        manifest={"seeds": cfg.seeds, "data_source": source, "data_fingerprint": data_fingerprint(returns)},
    )
    assert report.exists()
    return VAEReturnsResult(path=out, metrics=metrics, tables={
        "r2": r2_table, "r2_per_seed": seeds_table, "scenario_quality": scenario_table, "top_anomalies": top,
        "latent_mean": latent_mean, "latent_std": latent_std,
    })

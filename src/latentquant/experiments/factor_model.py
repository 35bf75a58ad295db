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

import time
from pathlib import Path

import pandas as pd

from latentquant._io import atomic_write
from latentquant.experiments._factor_config import Universe

# the API page lists the re-exported classes in import order: Universe first, as when they were defined here
# isort: split
from latentquant.experiments._factor_config import FactorStudyConfig, FactorStudyResult
from latentquant.experiments._factor_config import _default_universes as _default_universes
from latentquant.experiments._factor_stages import _MIN_SPAN_ROWS as _MIN_SPAN_ROWS
from latentquant.experiments._factor_stages import _analyse, _prepare
from latentquant.experiments._factor_stages import _beta_sweep as _beta_sweep
from latentquant.experiments._factor_stages import _Fits as _Fits
from latentquant.experiments._factor_stages import _fmt as _fmt
from latentquant.experiments._factor_stages import _log as _log
from latentquant.experiments._factor_stages import _Output as _Output
from latentquant.experiments._factor_stages import _Prepared as _Prepared
from latentquant.experiments._factor_stages import _r2_by_k as _r2_by_k
from latentquant.experiments._factor_stages import _seed_table as _seed_table
from latentquant.experiments._factor_stages import _stress as _stress
from latentquant.models.factor import VAEFactorModel
from latentquant.reports import RunDirectory, data_fingerprint
from latentquant.reports import figures as figs

__all__ = ["FactorStudyConfig", "FactorStudyResult", "Universe", "fit_and_save", "run"]
# the ``name as name`` imports above keep the private helpers that lived here before the split (into _factor_config
# and _factor_stages) importable from this module


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
            ("Explained variance and held-out likelihood: VAE vs linear AE, PCA, PPCA, FA", "", ["r2_by_k"],
             ["r2_by_k", "nll_by_k"]),
            ("Disentanglement", "", ["kl_per_factor", "beta_sweep", "long_short"], ["latent_corr", "traversal"]),
            ("Scenario quality", "", ["scenario_quality", "var_backtests", "scenario_per_asset"], []),
            ("Stressed scenarios", "Stressed scenarios draw the factors from the stress period's aggregate posterior "
             "and the idiosyncratic noise from that period's residuals.", ["stress_statistics", "stress_scenarios"],
             ["stress_fan_chart"]),
            ("Risk decomposition and calibration", "", ["risk_decomposition", "variance_calibration"],
             ["risk_assets"]),
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
                 out: str | Path = "runs/factors-fit", verbose: bool | None = None, likelihood: str = "student_t",
                 linear_skip: bool = True, init: str = "auto", free_bits: float = 0.0, kl_warmup: int = 0) -> str:
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
    likelihood : {"student_t", "diagonal", "isotropic", "unit"}, default "student_t"
        Observation model of the standardised returns.
    linear_skip : bool, default True
        Linear encoder/decoder paths beside the networks.
    init : {"auto", "pca", "random"}, default "auto"
        Start of the linear paths (``"auto"``: PCA when ``linear_skip``).
    free_bits : float, default 0.0
        Per-factor KL floor (nats) against posterior collapse.
    kl_warmup : int, default 0
        Epochs of linear KL warm-up.

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
                           seed=seed, verbose=verbose, periods_per_year=periods_per_year, likelihood=likelihood,
                           linear_skip=linear_skip, init=init, free_bits=free_bits, kl_warmup=kl_warmup).fit(returns)
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

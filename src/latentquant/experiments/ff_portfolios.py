"""Study: the 30 bundled Fama–French test portfolios priced by FF factors, PCA and a VAE factor model.

Data: :func:`latentquant.datasets.load_french_portfolios` — monthly, decimal returns (0.0123 = 1.23 %), month-end
dates 1949-01 … 2017-03; the factors ``MktRF SMB HML Mom`` are excess / long-short returns, the 30 portfolios (12
industries, 9 size × value, 9 size × momentum) are *raw* returns, so the study prices their **excess returns**
``portfolio − RF`` with ``RF`` the dataset's one-month T-bill return (same units). The data hold no ``RMW``/``CMA``,
so the FF model with K factors uses the first K of ``MktRF, SMB, HML, Mom`` (K=1 CAPM, K=3 FF3, K=4 Carhart);
larger K are not available for FF and are left empty.

Protocol (one time-ordered split, default: train 1949-01 … 1999-12, test 2000-01 … 2017-03): every model is fitted on
the training span only and evaluated on the test span, for every K of ``k_grid``:

* **FF** — time-series OLS betas on the training span, fitted returns ``β̂ᵢᵀ f_t`` with the realised factors;
* **PCA** — :class:`~latentquant.models.pricing.PCAFactors` on the training span (uncentred second moment),
  test-month factors by the cross-sectional regression of that month's returns on the training loadings;
* **VAE** — :class:`~latentquant.models.VAEFactorModel` (``input='returns'``: simple excess returns) per seed,
  test-month factors = the encoder's posterior mean of that month's returns, fitted returns = their decoding (which
  includes the training-span mean of each portfolio through the standardisation). Mean ± std over seeds.

Metrics on the test span: total R² (uncentred, pooled over portfolio-months, %), alphas = mean residual per
portfolio with Newey–West t-statistics and the count of ``|t| > 3``, and the GRS test. For FF the GRS test is the
classical one with traded factors (the test-span excess returns on the FF factors); for PCA it regresses the test
excess returns on PCA's test-span factors — portfolios of the same returns, so the statistic is descriptive rather
than an exact F test. The VAE's factors are not portfolio returns and their zero point is arbitrary, so no GRS is
reported for it; its alpha count is the comparable pricing-error measure.

Orchestration only: the maths lives in the model and evaluation modules.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentquant.data import Panel, split_by_date
from latentquant.datasets import load_french_portfolios
from latentquant.evaluation import GRSTestResult, count_significant, grs_test, mean_std, pricing_errors, total_r2
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.experiments._config import StudyConfig, StudyResult, section_options, study_options
from latentquant.models.factor import VAEFactorModel
from latentquant.models.pricing import FamaFrench, PCAFactors
from latentquant.reports import RunDirectory, data_fingerprint, format_mean_std
from latentquant.reports import figures as figs

__all__ = ["FF_FACTORS", "MODEL_NAMES", "FFPortfoliosConfig", "FFPortfoliosResult", "run"]

MODEL_NAMES = ("FF", "PCA", "VAE")
FF_FACTORS = ("MktRF", "SMB", "HML", "Mom")  # the order in which FF adds factors; the data have no RMW/CMA
RF_COLUMN = "RF"
_VAE_KEYS = ("beta", "hidden_dims", "activation", "epochs", "batch_size", "lr", "validation_split", "patience",
             "early_stopping")


def _default_vae() -> dict[str, Any]:
    return {"beta": 1.0, "hidden_dims": [32, 16], "activation": "relu", "epochs": 300, "batch_size": 64,
            "lr": 1e-3, "validation_split": 0.2, "patience": 20, "early_stopping": True}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class FFPortfoliosConfig(StudyConfig):
    """Every choice of the study (see the module docstring); load one from a mapping (YAML) with :meth:`from_dict`.

    ``train_end``/``test_start``/``test_end``/``train_start`` are inclusive dates (``test_start`` defaults to the
    month after ``train_end``, ``test_end`` and ``train_start`` to the ends of the data). ``vae`` holds the
    :class:`~latentquant.models.VAEFactorModel` options (``beta``, ``hidden_dims``, ``epochs`` …), ``seeds`` the VAE
    seeds, ``headline_k`` the K of the alpha scatter (FF: its largest available K if smaller), ``nw_lags`` the
    Newey–West lags (``None``: automatic), ``device`` where the VAE trains (``'cpu'`` keeps runs reproducible).

    Parameters
    ----------
    train_start, train_end, test_start, test_end : str or None
        Inclusive span dates (default: training 1949-01 … 1999-12, test 2000-01 … 2017-03).
    models : list of str
        Any of :data:`MODEL_NAMES` (``FF``, ``PCA``, ``VAE``).
    k_grid : list of int, default [1, 2, 3, 4, 5]
        Numbers of factors.
    headline_k : int, default 3
        The K of the alpha scatter and the GRS table; one of ``k_grid``.
    seeds : list of int, default [0, 1, 2]
        Distinct VAE seeds (mean ± std over seeds).
    vae : dict
        :class:`~latentquant.models.VAEFactorModel` options (``beta``, ``hidden_dims``, ``activation``, ``epochs``,
        ``batch_size``, ``lr``, ``validation_split``, ``patience``, ``early_stopping``); missing keys keep their
        defaults.
    nw_lags : int or None
        Newey–West lags of the alpha t-statistics (``None``: automatic).
    device : {"auto", "cpu", "cuda"}, default "auto"
        Where the VAE trains.
    out : str, default "runs/ff-portfolios"
        The run directory.
    verbose : bool or None
        VAE training progress.

    Examples
    --------
    >>> config = FFPortfoliosConfig.from_dict({"k_grid": [1, 3], "seeds": [0], "vae": {"epochs": 50}})
    >>> config.validate()
    >>> config.vae["epochs"], config.vae["hidden_dims"]  # the other VAE options keep their defaults
    (50, [32, 16])
    >>> FFPortfoliosConfig(k_grid=[1, 2], headline_k=3).validate()
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: headline_k must be one of k_grid [1, 2], got 3.
    """

    train_start: str | None = None
    train_end: str = "1999-12-31"
    test_start: str | None = None
    test_end: str | None = None
    models: list[str] = field(default_factory=lambda: list(MODEL_NAMES))
    k_grid: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    headline_k: int = 3
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    vae: dict[str, Any] = field(default_factory=_default_vae)
    nw_lags: int | None = None
    device: str = "auto"
    out: str = "runs/ff-portfolios"
    verbose: bool | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FFPortfoliosConfig:
        """Build a config from a mapping (e.g. parsed YAML); unknown keys are errors, not silently ignored."""
        kwargs = study_options(cls, raw)
        if "vae" in kwargs:
            kwargs["vae"] = {**_default_vae(), **section_options("vae", kwargs["vae"], _VAE_KEYS, "VAE options")}
        return cls(**kwargs)

    def validate(self) -> None:
        """Raise :class:`ConfigError` for the first invalid option."""
        bad = [m for m in self.models if m not in MODEL_NAMES] if isinstance(self.models, list) else [self.models]
        if bad or not self.models:
            raise ConfigError(f"models must be a non-empty list from {list(MODEL_NAMES)}, got {self.models!r}.")
        if (not isinstance(self.k_grid, list) or not self.k_grid
                or any(not _is_int(k) or k < 1 for k in self.k_grid)):
            raise ConfigError(f"k_grid must list positive integers, got {self.k_grid!r}.")
        if not _is_int(self.headline_k) or self.headline_k not in self.k_grid:
            raise ConfigError(f"headline_k must be one of k_grid {self.k_grid}, got {self.headline_k!r}.")
        if not isinstance(self.seeds, list) or not self.seeds or not all(_is_int(s) for s in self.seeds):
            raise ConfigError(f"seeds must be a non-empty list of integers, got {self.seeds!r}.")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds must be distinct, got {self.seeds!r}.")
        if self.nw_lags is not None and (not _is_int(self.nw_lags) or self.nw_lags < 0):
            raise ConfigError(f"nw_lags must be a non-negative integer or null (automatic), got {self.nw_lags!r}.")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ConfigError(f"device must be 'cpu', 'cuda' or 'auto', got {self.device!r}.")
        section_options("vae", self.vae, _VAE_KEYS, "VAE options")
        hidden = self.vae.get("hidden_dims")
        if not isinstance(hidden, list) or not all(_is_int(h) and h > 0 for h in hidden):
            raise ConfigError(f"vae.hidden_dims must be a list of positive integers ([] for linear), got {hidden!r}.")
        for key in ("epochs", "batch_size", "patience"):
            value = self.vae.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"vae.{key} must be a positive integer, got {value!r}.")
        for key in ("train_start", "train_end", "test_start", "test_end"):
            value = getattr(self, key)
            if value is None:
                continue
            try:
                pd.Timestamp(value)
            except (ValueError, TypeError):
                raise ConfigError(f"{key} must be a date such as 1999-12-31, got {value!r}.") from None


@dataclass(frozen=True)
class FFPortfoliosResult(StudyResult):
    """What :func:`run` produced: headline metrics, the tables of the report and the run directory.

    Attributes
    ----------
    path : pathlib.Path
        The run directory.
    metrics : mapping
        Headline numbers, as in ``metrics.json`` (spans, ``total_r2`` by model and K, ``headline`` alphas and GRS).
    tables : mapping of str to pandas.DataFrame
        The report's tables by name (read-only; :meth:`table` hands out copies).

    Examples
    --------
    >>> from pathlib import Path
    >>> metrics = {"train_span": ["1949-01", "1999-12"], "test_span": ["2000-01", "2017-03"], "n_test_months": 207,
    ...            "total_r2": {"FF": {"K=3": 81.2}, "PCA": {"K=3": 84.5}}, "headline_k": 3,
    ...            "headline": {"FF": {"significant_alphas": 4, "grs_p": 0.012},
    ...                         "PCA": {"significant_alphas": 2, "grs_p": 0.2}}}
    >>> print(FFPortfoliosResult(path=Path("runs/ff"), metrics=metrics).summary())
    30 FF test portfolios, excess returns over RF, monthly; train 1949-01…1999-12, test 2000-01…2017-03 (207 months).
      test total R² (%) FF: K=3 81.2
      test total R² (%) PCA: K=3 84.5
      |t| > 3 alphas and GRS p-value at K=3: FF 4 / 0.012; PCA 2 / 0.2
    report: runs/ff/report.html

    The VAE over seeds: a spread only with several seeds, and no GRS p-value (its factors are not traded):

    >>> vae = {**metrics, "seeds": [0, 1], "total_r2": {"VAE": {"K=3": 83.14}}, "total_r2_std": {"VAE": {"K=3": 0.52}},
    ...        "headline": {"VAE": {"significant_alphas": 1.5, "grs_p": None}}}
    >>> print(FFPortfoliosResult(path=Path("runs/ff"), metrics=vae).summary().splitlines()[1:3])
    ['  test total R² (%) VAE: K=3 83.1 ± 0.5', '  |t| > 3 alphas and GRS p-value at K=3: VAE 1.5 / n/a']
    >>> one = {**vae, "seeds": [0], "total_r2_std": {"VAE": {"K=3": None}}}
    >>> FFPortfoliosResult(path=Path("runs/ff"), metrics=one).summary().splitlines()[1]
    '  test total R² (%) VAE: K=3 83.1 (1 seed)'
    """

    def summary(self) -> str:
        """Test-span total R² per model and K, and the |t| > 3 counts and GRS p-values at the headline K."""
        m = self.metrics
        lines = [f"30 FF test portfolios, excess returns over RF, monthly; train {m['train_span'][0]}…"
                 f"{m['train_span'][1]}, test {m['test_span'][0]}…{m['test_span'][1]} ({m['n_test_months']} months)."]
        r2 = m["total_r2"]
        n_seeds = len(m.get("seeds") or [])
        for model, by_k in r2.items():
            cells = []
            for k, v in by_k.items():
                if v is None or not np.isfinite(v):
                    continue  # not available (e.g. FF with more factors than the data hold)
                if model == "VAE":  # the only model fitted per seed
                    std = m.get("total_r2_std", {}).get(model, {}).get(k)
                    cells.append(f"{k} " + format_mean_std(v, std, n_seeds or None, digits=1))
                else:
                    cells.append(f"{k} {format_mean_std(v, digits=1)}")
            lines.append(f"  test total R² (%) {model}: " + ", ".join(cells))

        def p_value(p: float | None) -> str:
            return "n/a" if p is None or not np.isfinite(p) else f"{p:.3g}"

        lines.append(f"  |t| > 3 alphas and GRS p-value at K={m['headline_k']}: " + "; ".join(
            f"{model} {d['significant_alphas']:g} / {p_value(d['grs_p'])}" for model, d in m["headline"].items()))
        lines.append(f"report: {self.report}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------- helpers
def _panel(wide: pd.DataFrame) -> Panel:
    """Long (date, asset) panel of a wide table of returns, without characteristics."""
    stacked = wide.stack(future_stack=True)
    long = (stacked if isinstance(stacked, pd.Series) else stacked.iloc[:, 0]).rename_axis(["date", "asset"])
    return Panel(long, pd.DataFrame(index=long.index))


def _grs(returns: pd.DataFrame, factors: pd.DataFrame) -> tuple[float, float]:
    """GRS (stat, p); NaN when the factor covariance is singular (e.g. a collapsed VAE factor)."""
    try:
        result: GRSTestResult = grs_test(returns, factors)
    except DataValidationError:
        return float("nan"), float("nan")
    return result.statistic, result.pvalue


def _evaluate(test: pd.DataFrame, fitted: pd.DataFrame, factors: pd.DataFrame | None,
              nw_lags: int | None) -> dict[str, Any]:
    """Test-span metrics of one model fit: total R² (%), alpha table, |t|>3 count, GRS (only for factors that are
    traded portfolio returns; ``None`` → NaN)."""
    alphas = pricing_errors(test - fitted, nw_lags=nw_lags).assign(mean_return=test.mean(), mean_fitted=fitted.mean())
    stat, p = _grs(test, factors) if factors is not None else (float("nan"), float("nan"))
    return {"r2": 100 * total_r2(test, fitted), "alphas": alphas, "n_sig": count_significant(alphas),
            "grs": stat, "grs_p": p}


def _to_wide(series: pd.Series) -> pd.DataFrame:
    return series.unstack(level=1)


# ----------------------------------------------------------------------------------------------------- run
def run(config: FFPortfoliosConfig) -> FFPortfoliosResult:
    """Run the study (see the module docstring) and write its run directory.

    Parameters
    ----------
    config : FFPortfoliosConfig
        Every choice of the study; validated first, before any data are read.

    Returns
    -------
    FFPortfoliosResult

    Raises
    ------
    ConfigError
        An invalid option.

    Examples
    --------
    FF and PCA only (seconds), or all three models (minutes):

    >>> result = run(FFPortfoliosConfig(models=["FF", "PCA"], out="runs/ff"))  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP

    A bad option fails at once:

    >>> run(FFPortfoliosConfig(models=["FF", "CAPM"]))
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: models must be a non-empty list from ['FF', 'PCA', 'VAE'], got ['FF', 'CAPM'].
    """
    cfg = config
    cfg.validate()
    t_start = time.perf_counter()
    data = load_french_portfolios()
    factor_cols = [c for c in FF_FACTORS if c in data.columns]
    portfolios = [c for c in data.columns if c not in (*FF_FACTORS, RF_COLUMN)]
    excess = data[portfolios].sub(data[RF_COLUMN], axis=0)  # portfolios are raw returns; RF in the same units
    excess.columns.name = "asset"
    train, test = split_by_date(excess, cfg.train_end, cfg.test_start, train_start=cfg.train_start,
                                test_end=cfg.test_end)
    ff_all = data[factor_cols]
    train_panel, test_panel = _panel(train), _panel(test)
    t0 = time.perf_counter()

    fits: dict[str, dict[int, list[dict[str, Any]]]] = {m: {} for m in cfg.models}
    skipped: list[str] = []
    for k in cfg.k_grid:
        if "FF" in cfg.models:
            if k <= len(factor_cols):
                ff = FamaFrench(n_factors=k).fit(train_panel, factor_returns=ff_all)
                fitted = _to_wide(ff.fitted(test_panel))[test.columns]
                fits["FF"][k] = [_evaluate(test, fitted, ff.factors(test_panel), cfg.nw_lags)]
            else:
                skipped.append(f"FF K={k}")
        if "PCA" in cfg.models:
            pca = PCAFactors(k).fit(train_panel)
            fitted = _to_wide(pca.fitted(test_panel))[test.columns]
            fits["PCA"][k] = [_evaluate(test, fitted, pca.factors(test_panel), cfg.nw_lags)]
        if "VAE" in cfg.models:
            per_seed = []
            for seed in cfg.seeds:
                vae = VAEFactorModel(
                    n_factors=k, input="returns", seed=seed, device=cfg.device, verbose=cfg.verbose,
                    periods_per_year=12, **{**cfg.vae, "hidden_dims": tuple(cfg.vae["hidden_dims"])},
                ).fit(train)
                z = vae.encode(test).mean
                fitted = vae.decode(z)
                # the VAE's factors are not traded returns and their zero point is arbitrary: no GRS for them
                per_seed.append(_evaluate(test, fitted, None, cfg.nw_lags)
                                | {"kl_active": int((vae.kl_per_factor_ >= 0.01).sum())})
            fits["VAE"][k] = per_seed
    fit_seconds = time.perf_counter() - t0

    # --- tables ---------------------------------------------------------------------------------------------
    def grid(key: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        mean = {m: {f"K={k}": mean_std([f[key] for f in fits[m][k]])[0] if k in fits[m] else np.nan
                    for k in cfg.k_grid} for m in cfg.models}
        std = {m: {f"K={k}": mean_std([f[key] for f in fits[m][k]])[1] if k in fits[m] else np.nan
                   for k in cfg.k_grid} for m in cfg.models}
        return (pd.DataFrame(mean).T.rename_axis("model"), pd.DataFrame(std).T.rename_axis("model"))

    def display(mean: pd.DataFrame, std: pd.DataFrame, digits: int) -> pd.DataFrame:
        """Cells ``mean ± std`` for the VAE (the only model fitted per seed), the value for FF and PCA; a value that
        is not available (FF beyond its factors, the VAE's GRS) is empty."""
        out = mean.copy().astype(object)
        for m in mean.index:
            for c in mean.columns:
                v = mean.loc[m, c]
                out.loc[m, c] = ("" if not np.isfinite(v) else
                                 format_mean_std(v, std.loc[m, c] if m == "VAE" else None, digits=digits))
        return out

    r2_mean, r2_std = grid("r2")
    sig_mean, sig_std = grid("n_sig")
    grs_mean, grs_std = grid("grs")
    p_mean, _ = grid("grs_p")
    tables: dict[str, pd.DataFrame] = {
        "total_r2": r2_mean, "total_r2_std": r2_std, "significant_alphas": sig_mean, "grs_stat": grs_mean,
        "grs_p_value": p_mean,
    }
    alpha_tables: dict[str, pd.DataFrame] = {}
    headline: dict[str, dict[str, Any]] = {}
    for m in cfg.models:
        ks = [k for k in cfg.k_grid if k in fits[m]]
        k_head = cfg.headline_k if cfg.headline_k in fits[m] else max(k for k in ks if k <= cfg.headline_k) \
            if any(k <= cfg.headline_k for k in ks) else ks[-1]
        first = fits[m][k_head][0]  # VAE: the first seed
        label = f"{m} K={k_head}" + (f" (seed {cfg.seeds[0]})" if m == "VAE" else "")
        alpha_tables[label] = first["alphas"]
        col = f"K={k_head}"
        headline[m] = {"k": k_head, "significant_alphas": float(sig_mean[col].loc[m]),
                       "grs": float(grs_mean[col].loc[m]), "grs_p": float(p_mean[col].loc[m])}
        tables[f"alphas_{m}"] = first["alphas"][["alpha", "t_stat", "mean_return", "mean_fitted"]]
    if "VAE" in cfg.models:
        rows = []
        for k in cfg.k_grid:
            for seed, f in zip(cfg.seeds, fits["VAE"][k], strict=True):
                rows.append({"K": k, "seed": seed, "total R² (%)": f["r2"], "|t| > 3": f["n_sig"], "GRS": f["grs"],
                             "GRS p": f["grs_p"], "active factors (KL ≥ 0.01)": f["kl_active"]})
        tables["vae_seeds"] = pd.DataFrame(rows).set_index(["K", "seed"])

    # --- run directory ----------------------------------------------------------------------------------------
    out = Path(cfg.out)
    run_dir = RunDirectory(out, title="Fama–French 30 test portfolios — FF vs PCA vs VAE factor model",
                           started=t_start)
    run_dir.timings["fit_seconds"] = fit_seconds

    def span(frame: pd.DataFrame) -> tuple[str, str]:
        return str(frame.index[0].date()), str(frame.index[-1].date())

    ff_note = (f"FF uses the first K of {factor_cols} (K=1 CAPM, K=3 FF3, K=4 Carhart); the data have no RMW/CMA, "
               f"so {', '.join(skipped)} {'is' if len(skipped) == 1 else 'are'} not available." if skipped else
               f"FF uses the first K of {factor_cols}.")
    run_dir.section(
        "Set-up",
        f"Data: bundled french_portfolios (Kenneth R. French data library via linearmodels), monthly, decimal "
        f"returns, month-end dates. Test assets: the {len(portfolios)} portfolios (12 industries, 9 size×value, "
        f"9 size×momentum) in excess of RF (portfolio − RF; the portfolios are raw returns, RF is the one-month "
        f"T-bill return of the dataset, the factors are already excess/long-short returns).\n"
        f"Split: train {span(train)[0]}…{span(train)[1]} ({len(train)} months), test {span(test)[0]}…"
        f"{span(test)[1]} ({len(test)} months); every model is fitted on the training span only. K = {cfg.k_grid}. "
        f"{ff_note}\n"
        "PCA: loadings from the uncentred second moment of the training excess returns; test-month factors by the "
        "cross-sectional regression of that month's returns on the loadings. VAE: VAEFactorModel on simple excess "
        f"returns (input='returns'), options {cfg.vae}, seeds {cfg.seeds} (mean ± std over seeds), device "
        f"{cfg.device}; test-month factors = posterior mean of that month's returns, fitted returns = their decoding "
        "(which includes each portfolio's training-span mean through the standardisation).\n"
        "Metrics on the test span: total R² = 1 − Σ(r − r̂)²/Σr² pooled over portfolio-months (uncentred, %); "
        "alpha = mean test residual per portfolio with Newey–West t-statistics "
        f"({'automatic lags' if cfg.nw_lags is None else f'{cfg.nw_lags} lags'}), count of |t| > 3; GRS: FF — "
        "test excess returns on the traded FF factors (betas re-estimated on the test span by the test); PCA — "
        "test excess returns on PCA's test-span factors, portfolios of the same returns, so descriptive rather "
        "than an exact F test; VAE — not reported (its factors are not portfolio returns).",
    )
    run_dir.section("Total R² (test span)")
    over_seeds = (f"mean ± std over {len(cfg.seeds)} seeds" if len(cfg.seeds) > 1 else
                  f"one seed ({cfg.seeds[0]}), no spread")
    run_dir.save_table("total_r2", display(r2_mean, r2_std, 2), f"Total R² (%), test span; VAE: {over_seeds}")
    curves = r2_mean.T.rename(index=lambda s: int(str(s)[2:]))
    curves_std = r2_std.T.rename(index=lambda s: int(str(s)[2:]))
    run_dir.save_figure("r2_vs_k", figs.plot_metric_curves(curves, curves_std, xlabel="number of factors K",
                                                           ylabel="total R² (%), test span"),
                        "Test-span total R² against K" + (" (VAE: ±1 std over seeds)" if len(cfg.seeds) > 1
                                                          else ""))
    run_dir.section("Pricing errors")
    run_dir.save_table("significant_alphas", display(sig_mean, sig_std, 1),
                       "Number of portfolios with |t(α)| > 3 (Newey–West), test span")
    run_dir.save_table("grs_stat", display(grs_mean, grs_std, 3), "GRS statistic, test span")
    run_dir.save_table("grs_p_value", p_mean, "GRS p-value, test span", floatfmt=".3g")
    run_dir.save_figure("alphas", figs.plot_alpha_scatter(alpha_tables),
                        f"Mean realised vs model-implied excess return per portfolio at K={cfg.headline_k} "
                        "(test span); filled: |t| > 3")
    for m in cfg.models:
        run_dir.save_table(f"alphas_{m}", tables[f"alphas_{m}"], f"Alphas per portfolio, {m} K="
                           f"{headline[m]['k']}" + (f" (seed {cfg.seeds[0]})" if m == "VAE" else ""),
                           floatfmt=".4f")
    if "vae_seeds" in tables:
        run_dir.section("VAE per seed")
        run_dir.save_table("vae_seeds", tables["vae_seeds"], "VAE per K and seed", floatfmt=".3f")

    def plain(df: pd.DataFrame) -> dict[str, dict[str, float]]:
        # NaN (not available, or a spread over one fit) stays NaN: metrics.json writes it as null and lists the key
        # under "undefined"
        return {str(m): {str(c): float(v) for c, v in row.items()} for m, row in df.iterrows()}

    metrics = {
        "conventions": "monthly, decimal excess returns (portfolio − RF), uncentred total R² in %, NW t-stats",
        "train_span": list(span(train)), "test_span": list(span(test)), "n_test_months": len(test),
        "n_portfolios": len(portfolios), "ff_factors": factor_cols, "skipped": skipped, "k_grid": cfg.k_grid,
        "headline_k": cfg.headline_k, "seeds": cfg.seeds,
        "total_r2": plain(r2_mean), "total_r2_std": plain(r2_std), "significant_alphas": plain(sig_mean),
        "grs_stat": plain(grs_mean), "grs_p_value": plain(p_mean), "headline": headline,
        "fit_seconds": fit_seconds,
    }
    fingerprint = data_fingerprint(data)
    report = run_dir.finish(config=cfg.to_dict(), metrics=metrics, manifest={
        "data_source": "latentquant.datasets.load_french_portfolios", "data_fingerprint": fingerprint,
        "config_hash": hashlib.sha256(repr(cfg.to_dict()).encode()).hexdigest()[:16]})
    assert report.exists()
    return FFPortfoliosResult(path=out, metrics=metrics, tables=tables)

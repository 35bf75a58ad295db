"""Study: synthetic market windows from the baseline generators (and any registered generator), judged against held-out
real windows.

Protocol (time-ordered, nothing fitted on the test span):

1. a multivariate daily series (default ``spx_generation``: S&P 500 log return and log range variance) is cut into
   windows of ``length`` days; :func:`~latentquant.data.window_split` splits the *rows* in time (the last
   ``test_size`` share is the test span) and drops the ``length − 1`` windows that would straddle the boundary, so no
   test row sits in a training window;
2. every generator of ``generators`` (:data:`~latentquant.models.generative.GENERATORS`) is fitted on the training
   windows and draws ``n_draws`` synthetic sets, each as many windows as the test span has;
3. each draw is scored against the test windows (:func:`~latentquant.evaluation.synthetic.evaluate_synthetic`):
   discriminative and predictive (TSTR vs TRTR) scores of post-hoc recurrent networks trained as one batched model,
   Wasserstein/KS/QuantGAN distances of the return feature and the MMD of whole windows — mean, std and quartiles over
   the draws. A reference row, *real: training span*, draws the same number of windows from the training span: how far
   the test span is from the past the generators saw (no generator fitted on the past can be expected to do better);
4. stylized facts (kurtosis, tails, volatility clustering, leverage, aggregational Gaussianity) of long synthetic
   paths (``long_paths`` × ``long_length`` days) against the real training and test spans;
5. the calibration of the instruments (:func:`~latentquant.evaluation.synthetic.noise_calibration`): real test
   windows plus growing noise must score monotonically worse, and real-vs-real must pass the MMD test.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentquant._io import atomic_write
from latentquant.datasets import load_dataset, load_returns
from latentquant.evaluation.distribution import var_es
from latentquant.evaluation.synthetic import (
    SyntheticReport,
    acf,
    leverage_effect,
    noise_calibration,
    stylized_facts,
)
from latentquant.evaluation.synthetic._report import HEADLINE
from latentquant.evaluation.var_backtest import draws_var_backtest, sample_var_backtest, var_backtest
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.executors import Task, run_tasks
from latentquant.experiments._config import StudyConfig, StudyResult
from latentquant.experiments._synthetic_files import evaluate_file
from latentquant.experiments._synthetic_report import score_metrics, write_scores
from latentquant.experiments._synthetic_tasks import REFERENCE, fit_and_score, split_windows
from latentquant.experiments._tasks import progress_printer
from latentquant.models.generative import GENERATORS, MAF, GARCHGenerator, create
from latentquant.reports import RunDirectory, data_fingerprint
from latentquant.reports import figures as figs
from latentquant.reports import synthetic_figures as sfigs
from latentquant.validation import Interval, Options, SequenceOf, check_arg

__all__ = ["SynthStudyConfig", "SynthStudyResult", "evaluate_file", "run"]

HEADLINE_KEYS = tuple(HEADLINE)


@dataclass
class SynthStudyConfig(StudyConfig):
    """Every choice of the synthetic-data study. ``data`` names a bundled dataset; ``path`` a user CSV/Parquet file
    (a date column and one column per feature).

    Parameters
    ----------
    data : str or None, default "spx_generation"
        A bundled dataset (``spx_generation``, ``fx_usd`` …); give exactly one of ``data`` and ``path``.
    path : str or None
        A user file of features (dates × features), e.g. log returns.
    columns : list of str or None
        Features to keep (default: all).
    log_returns : bool, default False
        Take log differences of the (positive) series first (e.g. ``fx_usd`` rates).
    minmax : bool, default False
        Scale each feature to [0, 1] with the training rows' minimum and maximum (TimeGAN's convention).
    reverse_time : bool, default False
        Reverse the rows first (TimeGAN's loader reads its stock file newest first; its published scores are on the
        reversed series); the index becomes a step count.
    return_feature : str or int, default 0
        The feature holding returns: distances and stylized facts are computed on it.
    length : int, default 20
        Window length in days.
    test_size : float, default 0.2
        Share of the rows, from the end, in the test span.
    generators : list of str
        Registered generator names (default: the four baselines).
    generator_params : dict
        Name → hyperparameters of that generator (e.g. ``{"garch": {"mean": "Constant"}}``).
    n_draws : int, default 50
        Synthetic draws per generator in all, shared out over the training seeds (mean, std and quartiles are over
        them).
    seeds : list of int, default [0]
        Training seeds of every generator (one stored task per generator and seed; the spread across seeds is the
        training noise of the networks).
    seed : int, default 0
        Seed of the draws, the post-hoc networks and the tests.
    epochs : int or None
        Epochs of the post-hoc networks (default: 20).
    convention : {"latentquant", "timegan"}
        Convention of the post-hoc networks.
    long_paths, long_length : int
        Number and length of the long synthetic paths for the stylized facts.
    facts : bool, default True
        The stylized-facts section (long paths, ACF and leverage figures); off for data that are not returns (e.g.
        the TimeGAN stock levels).
    calibration_alphas : list of float
        Noise levels of the calibration check (in standard deviations of each feature); empty: skip it.
    calibration_draws : int, default 5
        Noisy draws per level.
    var_levels : list of float, default [0.01, 0.05]
        Tail probabilities of the VaR/ES backtests on the test span's returns (with ``facts``): each generator's
        static VaR against a GARCH(1,1)-t one-day-ahead forecast and the training span's historical VaR; empty:
        skip them.
    executor : {"serial", "local", "ray"}, default "serial"
        Where the fits run (:func:`~latentquant.executors.run_tasks`); finished fits are kept in ``OUT/fits``.
    n_jobs : int or None
        Worker processes for ``executor='local'``.
    out : str, default "runs/synth"
        The run directory.
    verbose : bool or None
        ``False`` silences the progress lines.

    Examples
    --------
    >>> cfg = SynthStudyConfig.from_dict({"generators": ["bootstrap", "garch"], "n_draws": 10})
    >>> cfg.validate()
    >>> SynthStudyConfig.from_dict({"generators": ["timegan"]}).validate()
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: unknown generator 'timegan'; choose from ['bootstrap', \
'block_bootstrap', 'gaussian', 'garch', 'timevae', 'nice', 'realnvp', 'maf', 'ddpm'].
    """

    data: str | None = "spx_generation"
    path: str | None = None
    columns: list[str] | None = None
    log_returns: bool = False
    minmax: bool = False
    reverse_time: bool = False
    return_feature: str | int = 0
    length: int = 20
    test_size: float = 0.2
    generators: list[str] = field(default_factory=lambda: ["bootstrap", "block_bootstrap", "gaussian", "garch"])
    generator_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    n_draws: int = 50
    seeds: list[int] = field(default_factory=lambda: [0])
    seed: int = 0
    epochs: int | None = None
    convention: str = "latentquant"
    long_paths: int = 20
    long_length: int = 1000
    facts: bool = True
    calibration_alphas: list[float] = field(default_factory=lambda: [0.0, 0.1, 0.3, 0.6])
    calibration_draws: int = 5
    var_levels: list[float] = field(default_factory=lambda: [0.01, 0.05])
    executor: str = "serial"
    n_jobs: int | None = None
    out: str = "runs/synth"
    verbose: bool | None = None

    def validate(self) -> None:
        if (self.data is None) == (self.path is None):
            raise ConfigError("give exactly one of data (a bundled dataset) and path (your file).")
        check_arg("length", self.length, Interval(Integral, 2, None))
        check_arg("test_size", self.test_size, Interval(Real, 0, 1, closed="neither"))
        check_arg("n_draws", self.n_draws, Interval(Integral, 1, None))
        check_arg("seed", self.seed, Interval(Integral, 0, None))
        check_arg("seeds", self.seeds, SequenceOf(Interval(Integral, 0, None), min_len=1))
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds has repeated values {self.seeds}; give distinct training seeds.")
        check_arg("executor", self.executor, Options("serial", "local", "ray"))
        check_arg("n_jobs", self.n_jobs, Interval(Integral, 1, None), None)
        check_arg("epochs", self.epochs, Interval(Integral, 1, None), None)
        check_arg("convention", self.convention, Options("latentquant", "timegan"))
        check_arg("long_paths", self.long_paths, Interval(Integral, 1, None))
        check_arg("long_length", self.long_length, Interval(Integral, 30, None))
        check_arg("calibration_alphas", self.calibration_alphas, SequenceOf(Interval(Real, 0, None)))
        check_arg("calibration_draws", self.calibration_draws, Interval(Integral, 1, None))
        check_arg("var_levels", self.var_levels, SequenceOf(Interval(Real, 0, 0.5, closed="neither")))
        if self.minmax and self.facts and self.var_levels:
            raise ConfigError("minmax: true scales the features to [0, 1], which are no longer returns: the VaR "
                              "backtests (var_levels) and the stylized facts need returns; set var_levels: [] and "
                              "facts: false, or minmax: false.")
        check_arg("log_returns", self.log_returns, "boolean")
        check_arg("minmax", self.minmax, "boolean")
        check_arg("facts", self.facts, "boolean")
        check_arg("reverse_time", self.reverse_time, "boolean")
        if not self.generators:
            raise ConfigError("generators is empty; name at least one of " f"{GENERATORS.names()}.")
        unknown = [k for k in self.generator_params if k not in self.generators]
        if unknown:
            raise ConfigError(f"generator_params has entries {unknown} for generators not in generators "
                              f"{self.generators}.")
        for name in self.generators:
            create(name, **self.generator_params.get(name, {}))  # unknown names and bad options fail here


@dataclass(frozen=True)
class SynthStudyResult(StudyResult):
    """What :func:`run` returns: the run directory, headline metrics and tables.

    Attributes
    ----------
    path : pathlib.Path
        The run directory.
    metrics : mapping
        Headline numbers per generator, as in ``metrics.json``.
    tables : mapping of str to pandas.DataFrame
        ``scores``, ``scores_quartiles``, ``stylized_facts``, ``window_facts``, ``calibration``.

    Examples
    --------
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"disc_auc": ["0.61 ± 0.02"]}, index=["garch"])
    >>> r = SynthStudyResult(path=Path("runs/synth"), metrics={"generators": {"garch": {"disc_auc": 0.61}}},
    ...                      tables={"scores": scores})
    >>> print(r.summary())
    garch: AUC 0.610; report: runs/synth/report.html
    """

    def summary(self) -> str:
        """One line per generator: the mean discriminative AUC (0.5 is best) and the TSTR/TRTR ratio."""
        parts = []
        for name, m in self.metrics.get("generators", {}).items():
            ratio = f", TSTR/TRTR {m['tstr_trtr_ratio']:.3f}" if "tstr_trtr_ratio" in m else ""
            parts.append(f"{name}: AUC {m['disc_auc']:.3f}{ratio}")
        return "; ".join(parts) + f"; report: {self.report}"


def _load(cfg: SynthStudyConfig) -> tuple[pd.DataFrame, str]:
    if cfg.data is not None:
        frame, source = load_dataset(cfg.data), f"bundled dataset '{cfg.data}'"
    else:
        frame, source = load_returns(str(cfg.path), max_abs=None), f"file {cfg.path}"
    if cfg.columns:
        missing = [c for c in cfg.columns if c not in frame.columns]
        if missing:
            raise ConfigError(f"columns {missing} are not in the data; columns: {list(frame.columns)}.")
        frame = frame[cfg.columns]
    if cfg.log_returns:
        if not (frame > 0).all().all():
            raise DataValidationError("log_returns: true needs positive values (prices or rates); the data have "
                                      "values <= 0. Pass returns and log_returns: false.")
        frame = pd.DataFrame(np.log(frame.to_numpy()), index=frame.index, columns=frame.columns).diff().iloc[1:]
    frame = frame.dropna()
    if cfg.reverse_time:  # TimeGAN's loader reads its stock file newest first
        frame = frame.iloc[::-1].reset_index(drop=True).rename_axis("step")
    if cfg.minmax:  # TimeGAN's convention, with the minimum and maximum of the training rows only
        n_train = len(frame) - int(np.floor(cfg.test_size * len(frame)))
        lo, hi = frame.iloc[:n_train].min(), frame.iloc[:n_train].max()
        frame = (frame - lo) / (hi - lo).where(hi > lo, 1.0)
    return frame.astype(np.float64), source


def _feature(value: str | int, names: list[str]) -> int:
    if isinstance(value, str) and value in names:
        return names.index(value)
    if isinstance(value, Integral) and not isinstance(value, bool) and 0 <= int(value) < len(names):
        return int(value)
    raise ConfigError(f"return_feature {value!r} is not a feature; give a name or position of {names}.")

def _log(cfg: SynthStudyConfig, message: str) -> None:
    if cfg.verbose is not False:
        print(message, file=sys.stderr, flush=True)


def _report(name: str, parts: list[dict[str, Any]], names: list[str], f: int, n_windows: int, length: int,
            cfg: SynthStudyConfig) -> SyntheticReport:
    """One report per generator: the draws of every training seed together."""
    per_draw = pd.concat([p["per_draw"] for p in parts], ignore_index=True).rename_axis("draw")
    return SyntheticReport(name=name, per_draw=per_draw, real_facts=parts[0]["real_facts"],
                           synthetic_facts=parts[0]["synthetic_facts"], features=tuple(names),
                           return_feature=names[f], n_windows=n_windows, length=length, convention=cfg.convention,
                           seed=cfg.seed)


def _var_backtests(frame: pd.DataFrame, n_train: int, n_test: int, first: dict[str, np.ndarray], f: int,
                   cfg: SynthStudyConfig) -> pd.DataFrame:
    """VaR/ES backtests on the test span: a GARCH(1,1)-t fitted on the training span and run forward (one day
    ahead, causal), a MAF conditioned on the previous window's volatility (when the returns are feature 0, the
    flows' context), the training span's historical VaR, and each generator's static VaR (its first draw)."""
    returns = frame.iloc[:, f]
    train, test = returns.iloc[:n_train], returns.iloc[-n_test:]
    garch = GARCHGenerator(mean="Constant", length=cfg.length).fit(train.to_frame())
    flow = None
    if f == 0:
        params = {"epochs": 60, **cfg.generator_params.get("maf", {}), "context": "previous_vol",
                  "length": cfg.length, "seed": cfg.seeds[0], "verbose": False}
        flow = MAF(**params).fit(frame.iloc[:n_train])
        recent = returns.iloc[-(n_test + cfg.length):]  # each test day's forecast reads the length_ days before it
        flow_draws = flow.forecast_draws(recent, 2000, seed=cfg.seed)
    rows: dict[tuple[str, float], dict[str, Any]] = {}
    for p in cfg.var_levels:
        fc = garch.forecast(returns, p=p).iloc[-n_test:]
        null = garch.forecast_draws(returns, 500, seed=cfg.seed)[:, -n_test:]
        tests = {"GARCH(1,1)-t forecast": (var_backtest(test, fc["var"], p=p, es=fc["es"], null_draws=null),
                                           fc["var"].mean(), fc["es"].mean())}
        if flow is not None:
            flow_bt, flow_var, flow_es = draws_var_backtest(test, flow_draws, p=p, seed=cfg.seed)
            tests["MAF | previous vol forecast"] = (flow_bt, flow_var.mean(), flow_es.mean())
        tests["historical: training span"] = (sample_var_backtest(test, train, p=p, seed=cfg.seed),
                                              *var_es(train.to_numpy(), p))
        for name, draw in first.items():
            tests[name] = (sample_var_backtest(test, draw[..., f], p=p, seed=cfg.seed), *var_es(draw[..., f], p))
        for name, (bt, var, es) in tests.items():
            rows[(name, p)] = {"var": float(var), "es": float(es), **{k: v for k, v in bt.to_dict().items()
                                                                      if k not in ("p", "n")}}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(["forecast", "p"])


def run(config: SynthStudyConfig, *, resume: bool = True) -> SynthStudyResult:
    """Run the study and write its run directory; see the module docstring for the protocol.

    Every (generator, training seed) fit and its scores is a stored task of :mod:`latentquant.executors` in
    ``OUT/fits``: re-running the same config loads the finished ones (an interrupted study resumes).

    Parameters
    ----------
    config : SynthStudyConfig
        Every choice of the study; validated first, before any data are read.
    resume : bool
        Load the finished fits from ``OUT/fits`` instead of recomputing them.

    Returns
    -------
    SynthStudyResult

    Examples
    --------
    The four baselines on the S&P 500 generation set (a few minutes on 2 cores):

    >>> result = run(SynthStudyConfig(n_draws=20, out="runs/synth"))  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP

    A bad option fails at once:

    >>> run(SynthStudyConfig(length=1))
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: length must be an integer >= 2, got 1.
    """
    cfg = config
    cfg.validate()
    t0 = time.perf_counter()
    frame, source = _load(cfg)
    train_w, test_w, split = split_windows(frame, cfg.length, cfg.test_size)
    names = [str(c) for c in frame.columns]
    f = _feature(cfg.return_feature, names)
    n_test = len(test_w)
    _log(cfg, f"{source}: {len(frame)} rows × {len(names)} features; {len(train_w)} training and {n_test} test "
              f"windows of {cfg.length} days")
    store = Path(cfg.out) / "fits"
    store.mkdir(parents=True, exist_ok=True)
    data_path = store / "data.parquet"
    atomic_write(data_path, frame.to_parquet)
    common = {"data_path": str(data_path), "length": cfg.length, "test_size": cfg.test_size,
              "eval_kw": {"features": names, "return_feature": f, "seed": cfg.seed, "epochs": cfg.epochs,
                          "convention": cfg.convention},
              "long_paths": cfg.long_paths, "long_length": cfg.long_length, "data": data_fingerprint(frame)}
    per_seed = -(-cfg.n_draws // len(cfg.seeds))
    tasks = [Task("reference", fit_and_score, {**common, "name": REFERENCE, "params": {}, "seed": cfg.seeds[0],
                                                "n_draws": cfg.n_draws, "draw_seed": cfg.seed})]
    for i, name in enumerate(cfg.generators):
        tasks += [Task(f"{name}-s{seed}", fit_and_score, {
            **common, "name": name, "params": dict(cfg.generator_params.get(name, {})), "seed": seed,
            "n_draws": per_seed, "draw_seed": cfg.seed + 1000 * (i + 1) + 100 * j}) for j, seed in enumerate(cfg.seeds)]
    results = run_tasks(tasks, executor=cfg.executor, n_jobs=cfg.n_jobs, store=store if resume else None,
                        progress=progress_printer(cfg.verbose))
    parts = {REFERENCE: [results["reference"]],
             **{name: [results[f"{name}-s{seed}"] for seed in cfg.seeds] for name in cfg.generators}}
    reports = {name: _report(name, p, names, f, n_test, cfg.length, cfg) for name, p in parts.items()}
    by_seed = pd.DataFrame({(name, seed): results[f"{name}-s{seed}"]["per_draw"][list(HEADLINE_KEYS)].mean()
                            for name in cfg.generators for seed in cfg.seeds}).T.rename_axis(["generator", "seed"])
    for name, r in reports.items():
        m = r.headline()
        _log(cfg, f"{name}: AUC {m['disc_auc']:.3f}, TSTR/TRTR {m['tstr_trtr_ratio']:.3f}, W1 {m['w1_1']:.4g}")

    # --- long paths (generators that sample any length): stylized facts that need more than one window ------------
    series = {"real: training span": frame.iloc[:split.n_train_rows, f].to_numpy(),
              "real: test span": frame.iloc[-split.n_test_rows:, f].to_numpy()}
    long = {name: p[0]["long"] for name, p in parts.items() if name != REFERENCE and p[0]["long"] is not None}
    fact_sets = {**series, **long}
    facts_table = pd.DataFrame()
    if cfg.facts:
        facts_table = pd.DataFrame({k: stylized_facts(v, seed=cfg.seed).to_frame()["estimate"]
                                    for k, v in fact_sets.items()})
        facts_table.index = [fact for fact, _ in facts_table.index]
    first = {name: p[0]["first_draw"] for name, p in parts.items() if name != REFERENCE}
    var_table = (_var_backtests(frame, split.n_train_rows, split.n_test_rows, first, f, cfg)
                 if cfg.facts and cfg.var_levels else None)
    calibration = (noise_calibration(test_w, alphas=cfg.calibration_alphas, n_draws=cfg.calibration_draws,
                                     seed=cfg.seed, epochs=cfg.epochs) if cfg.calibration_alphas else None)
    eval_seconds = time.perf_counter() - t0

    metrics: dict[str, Any] = {
        "source": source, "features": names, "return_feature": names[f], "length": cfg.length,
        "n_train_windows": len(train_w), "n_test_windows": n_test, "n_draws": cfg.n_draws, "seeds": cfg.seeds,
        "train_span": [str(frame.index[0]), str(frame.index[split.n_train_rows - 1])],
        "test_span": [str(frame.index[-split.n_test_rows]), str(frame.index[-1])],
        **score_metrics(reports, cfg.n_draws),
        "fit_seconds": {name: float(np.mean([q["fit_seconds"] for q in p])) for name, p in parts.items()},
        "eval_seconds": eval_seconds,
    }
    if calibration is not None:
        metrics["calibration"] = calibration.to_dict(orient="index")
    if var_table is not None:
        metrics["var_backtests"] = {f"{name} @ {p:g}": row for (name, p), row in
                                    zip(var_table.index.tolist(), var_table.to_dict("records"), strict=True)}

    run_dir = RunDirectory(cfg.out, title=f"Synthetic market data — {source}", started=t0)
    run_dir.timings.update(eval_seconds=eval_seconds)
    ret_name = names[f]
    run_dir.section(
        "Setup",
        f"Data: {source}; {len(frame)} rows, features {names} (returns: {ret_name}). Windows of {cfg.length} days; "
        f"the last {cfg.test_size:.0%} of the rows are the test span ({metrics['test_span'][0]} … "
        f"{metrics['test_span'][1]}), {len(train_w)} training and {n_test} test windows, {split.gap} straddling "
        f"windows dropped (no row shared). Each generator is fitted on the training windows with the training seeds "
        f"{cfg.seeds} and draws {cfg.n_draws} sets of {n_test} windows in all ({per_seed} per seed). Post-hoc "
        f"networks: {cfg.convention} convention, seed {cfg.seed}. '{REFERENCE}' = windows drawn from the training "
        "span (no model): the distance between the past and the test span, which no generator fitted on the past "
        "can be expected to beat.",
    )
    tables = write_scores(run_dir, reports, test_w, first, ret_name, cfg.seed)
    if len(cfg.seeds) > 1:
        run_dir.save_table("scores_by_seed", by_seed, "Mean over each training seed's draws: the spread across "
                           "seeds is the model's training noise")
        tables["scores_by_seed"] = by_seed
    if cfg.facts:
        run_dir.section("Stylized facts of long paths", f"{cfg.long_paths} synthetic paths of {cfg.long_length} "
                        "days per generator that samples any length (networks sample the window length they were "
                        "trained on), pooled within paths, against the real training and test spans (one path each).")
        run_dir.save_table("stylized_facts", facts_table, f"Stylized facts of {ret_name}: real spans vs long "
                           "synthetic paths (estimates; kurtosis_hH = excess kurtosis of H-day sums)")
        lags = min(250, cfg.long_length // 4)
        acf_table = pd.DataFrame({k: acf(np.abs(v), max_lag=lags).iloc[:, 0] for k, v in fact_sets.items()})
        acf_fig = figs.plot_lines(acf_table, ylabel="ACF of |r|", title="Volatility clustering")
        run_dir.save_figure("acf_abs", acf_fig, f"ACF of |{ret_name}|, lags 1–{lags}: real spans vs long synthetic "
                            "paths")
        lev_table = pd.DataFrame({k: leverage_effect(v, max_lag=20).iloc[:, 0] for k, v in fact_sets.items()})
        lev_fig = figs.plot_lines(lev_table, ylabel="corr(r_t, r²_t+k)", title="Leverage effect")
        run_dir.save_figure("leverage", lev_fig, "Leverage effect corr(r_t, r²_{t+k}), k = 1–20")
    densities = {"real: test span": series["real: test span"], **{k: p[..., f] for k, p in first.items()}}
    run_dir.save_figure("densities", sfigs.plot_return_densities(densities, xlabel=ret_name),
                        f"Distribution of daily {ret_name}: the test span vs one draw of each generator "
                        "(log-scale density)")
    if cfg.facts:
        tables["stylized_facts"] = facts_table
    if var_table is not None:
        run_dir.section("VaR backtests", f"Daily {ret_name} of the test span against VaR and ES forecasts (positive "
                        "losses at tail probability p; no annualisation): a GARCH(1,1)-t fitted on the training span "
                        "and run forward one day ahead, a MAF conditioned on the previous window's volatility (the "
                        "day's distribution given the 'length' days before it; when the returns are feature 0), the "
                        "training span's historical VaR, and each generator's static VaR/ES (one draw's daily "
                        "values). Kupiec: is the hit rate p? Christoffersen: are hits independent (static "
                        "forecasts' hits cluster when volatility does)? cc: both. Z2: Acerbi–Székely's ES test "
                        "(negative: the tail is understated; p-value from 500 histories drawn from the forecast "
                        "distribution).")
        run_dir.save_table("var_backtests", var_table, "VaR/ES backtests on the test span (var, es: the forecast, "
                           "mean over days for the GARCH and MAF forecasts; *_pvalue: p-values of the tests)")
        tables["var_backtests"] = var_table
    if calibration is not None:
        run_dir.section("Calibration of the instruments",
                        "Real test windows against the same windows plus α·σ·N(0, 1) noise: every score must get "
                        "worse as α grows (α = 0: identical sets). 'real vs real': the MMD test on disjoint random "
                        "halves of the real windows; its rejection rate at 5% is the test's size (overlapping "
                        "windows make it optimistic).")
        run_dir.save_table("calibration", calibration, "Calibration: scores against noise level α (mean over "
                           f"{cfg.calibration_draws} draws)")
        tables["calibration"] = calibration
    report = run_dir.finish(config=cfg.to_dict(), metrics=metrics,
                            manifest={"data_source": source, "data_fingerprint": data_fingerprint(frame)})
    assert report.exists()
    return SynthStudyResult(path=run_dir.path, metrics=metrics, tables=tables)

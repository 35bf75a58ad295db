"""Study: conditional and unconditional factor models under one rolling out-of-sample protocol (Gu, Kelly & Xiu 2021).

For every calendar-year window (training, validation, test; annual refits, rolling or expanding), every model
(FF, PCA, IPCA, CA0–CA3, the conditional VAE) and every number of factors K, the model is fitted on the past and
evaluated on the test year. Test-year predictions are pooled over windows, then:

* total R² — :math:`1-\\sum(r-\\hat\\beta_{t-1}^\\top\\hat f_t)^2/\\sum r^2` (uncentred) — and predictive R² —
  :math:`\\hat f_t` replaced by the running mean :math:`\\hat\\lambda_{t-1}` of the model's factors — at stock level and
  at the level of characteristic-managed portfolios;
* pricing errors of the managed portfolios (Newey–West t-statistics, count of :math:`|t|>3`) at the headline K;
* characteristic importance (drop in total R² when one characteristic is set to 0) of each model's last fit.

Neural models are fitted on the training years with early stopping on the validation years; models without tuning
(FF, PCA, IPCA) are fitted on training + validation years. The conditional VAE is evaluated with its *prior*
factors (no information from the test month's returns).

Every (window, model, K) fit is an independent task run through :mod:`latentquant.executors` and persisted in the
run directory as soon as it finishes, so an interrupted study resumes where it stopped.

Orchestration only: models are built by name from :data:`latentquant.models.pricing.PRICING_MODELS`, each says how it
is fitted (``uses_validation``, ``needs_factor_returns``) and computes its own ``fitted`` and ``predicted`` values; the
R², pricing errors and importance come from :mod:`latentquant.evaluation`.
"""

from __future__ import annotations

import inspect
import time
import warnings
from dataclasses import asdict, dataclass, field
from numbers import Integral
from pathlib import Path
from typing import Any

from latentquant._io import atomic_write
from latentquant.data import simulate_panel
from latentquant.data.panel_io import RETURN_UNITS
from latentquant.evaluation import characteristic_importance
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning
from latentquant.executors import Task, run_tasks
from latentquant.experiments import _pricing_data as data_io
from latentquant.experiments._config import StudyConfig, StudyResult, section_options
from latentquant.experiments._pricing_report import pool_tables, write_report
from latentquant.experiments._tasks import progress_printer
from latentquant.models.pricing import PRICING_MODELS
from latentquant.reports import data_fingerprint
from latentquant.validation import Interval, Options, check_arg

__all__ = ["PricingStudyConfig", "PricingStudyResult", "run"]


def __getattr__(name: str) -> Any:
    if name == "MODEL_NAMES":  # deprecated: the registry is the one list of pricing models
        warnings.warn("latentquant.experiments.asset_pricing.MODEL_NAMES is deprecated and will be removed in the next "
                      "release; use latentquant.models.pricing.PRICING_MODELS.names().", FutureWarning, stacklevel=2)
        return tuple(PRICING_MODELS.names())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_OPTION_FIELDS = ("ca", "cvae")  # the config fields that hold model options


def _options_field(model: str) -> str:
    """The config field holding a model's options: its registry name in lower case without the trailing depth
    (``CA0``–``CA3`` → ``ca``, ``CVAE`` → ``cvae``)."""
    return model.rstrip("0123456789").lower()


def _option_keys(field_name: str) -> list[str]:
    """Every parameter of the registry models whose options live in ``field_name`` (old spellings included)."""
    keys: set[str] = set()
    for model in PRICING_MODELS.names():
        if _options_field(model) == field_name:
            keys |= set(PRICING_MODELS.params(model)) | set(getattr(PRICING_MODELS.get(model), "_renamed_params", {}))
    return sorted(keys)


@dataclass
class PricingStudyConfig(StudyConfig):
    """Every choice of the study. ``data``: ``'simulated'`` (see ``simulation``), ``'bundled_prices'`` (monthly
    price-based characteristics of the bundled S&P 500 stocks) or a path to a CRSP/GKX-layout file. ``models``
    are names of :data:`~latentquant.models.pricing.PRICING_MODELS`; ``ca`` holds the options of CA0–CA3 and
    ``cvae`` those of CVAE (keyword arguments of the estimators).

    Parameters
    ----------
    data : str, default "simulated"
        ``'simulated'``, ``'bundled_prices'`` or the path of a CRSP/GKX-layout panel file.
    simulation : dict
        Keyword arguments of :func:`~latentquant.data.simulate_panel` when ``data='simulated'``.
    file_lag : int, default 1
        Months by which the characteristics of a panel file are lagged behind the returns.
    return_col, id_col, date_col : str, default "ret", "permno", "date"
        The return, asset-id and date columns of a panel file.
    return_unit : {"auto", "decimal", "percent"}, default "auto"
        Units of a panel file's returns; ``'auto'`` reads them as percent (divided by 100, with a warning) when
        their median absolute value exceeds 0.2 (:mod:`latentquant.data.panel_io` gives the reasoning).
    factors_path : str or None
        A CSV/Parquet file of monthly factor returns for FF (``date, Mkt-RF, SMB, HML[, RF]``; the first K factor
        columns are FF's K factors, RF is not used); it replaces the data source's own factors and must cover every
        month the study uses.
    factors_return_unit : {"auto", "decimal", "percent"}, default "auto"
        Units of the factors file (same rule as ``return_unit``).
    add_constant : bool, default True
        Append a constant characteristic (after ranking), so that models can price the cross-sectional mean.
    models : list of str
        Registry names of the models to compare (default FF, PCA, IPCA, CA0, CA1, CVAE).
    k_grid : list of int, default [1, 2, 3, 4, 5]
        Numbers of factors; the largest is the headline K of the alpha and importance tables.
    start_year, first_test_year, last_test_year : int or None
        The calendar-year protocol (:class:`~latentquant.data.YearlyWindows`); ``None``: the first year of the
        data, the start of its last third, and its last year.
    val_years : int, default 3
        Validation years between training and test (early stopping of the neural models).
    refit_every : int, default 1
        Test years per window (models are refitted this often).
    scheme : {"expanding", "rolling"}, default "expanding"
        Keep the training start fixed, or move it with the window.
    ca, cvae : dict
        Keyword arguments of the conditional autoencoders CA0–CA3 and of the conditional VAE.
    seeds : list of int, default [0]
        Seeds of the models that have one (tables show the mean over seeds, ``*_std`` tables the dispersion).
    executor : {"local", "serial", "ray"}, default "local"
        Where the fits run (:func:`~latentquant.executors.run_tasks`).
    n_jobs : int or None
        Worker processes (``None``: one per CPU this process may use); each fit runs with a fixed thread count.
    ray_address : str or None
        Address of a Ray cluster for ``executor='ray'`` (``None``: a local Ray instance).
    out : str, default "runs/pricing"
        The run directory.
    verbose : bool or None
        ``False`` silences the progress lines on stderr.

    Examples
    --------
    >>> config = PricingStudyConfig.from_dict({"models": ["PCA", "IPCA"], "k_grid": [1, 3], "executor": "serial"})
    >>> config.validate()
    >>> config.to_dict()["models"], config.simulation["n_assets"], config.model_options("IPCA")
    (['PCA', 'IPCA'], 200, {})
    >>> PricingStudyConfig.from_dict({"model": ["PCA"]})
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: unknown study option(s) ['model']; known options: [...].
    >>> PricingStudyConfig(k_grid=[0]).validate()
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: k_grid must list positive integers, got [0].
    """

    data: str = "simulated"
    simulation: dict[str, Any] = field(default_factory=lambda: {
        "n_assets": 200, "n_periods": 240, "n_chars": 10, "n_factors": 3, "beta": "nonlinear", "seed": 0})
    file_lag: int = 1
    return_col: str = "ret"
    id_col: str = "permno"
    date_col: str = "date"
    return_unit: str = "auto"
    factors_path: str | None = None
    factors_return_unit: str = "auto"
    add_constant: bool = True
    models: list[str] = field(default_factory=lambda: ["FF", "PCA", "IPCA", "CA0", "CA1", "CVAE"])
    k_grid: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    start_year: int | None = None
    first_test_year: int | None = None
    last_test_year: int | None = None
    val_years: int = 3
    refit_every: int = 1
    scheme: str = "expanding"
    ca: dict[str, Any] = field(default_factory=lambda: {
        "n_seeds": 3, "epochs": 100, "lr": 0.01, "batch_size": 1024, "patience": 5, "dropout": 0.0})
    cvae: dict[str, Any] = field(default_factory=lambda: {"epochs": 50, "patience": 5})
    seeds: list[int] = field(default_factory=lambda: [0])
    executor: str = "local"
    n_jobs: int | None = None
    ray_address: str | None = None
    out: str = "runs/pricing"
    verbose: bool | None = None

    def validate(self) -> None:
        """Raise :class:`ConfigError` for the first invalid option."""
        bad = [m for m in self.models if m not in PRICING_MODELS]
        if bad or not self.models:
            raise ConfigError(f"models must be a non-empty list from {PRICING_MODELS.names()}, got "
                              f"{self.models!r}.")
        if not self.k_grid or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in self.k_grid):
            raise ConfigError(f"k_grid must list positive integers, got {self.k_grid!r}.")
        if not self.seeds or any(isinstance(v, bool) or not isinstance(v, int) for v in self.seeds):
            raise ConfigError(f"seeds must be a non-empty list of integers, got {self.seeds!r}.")
        if self.executor not in ("serial", "local", "ray"):
            raise ConfigError(f"executor must be 'serial', 'local' or 'ray', got {self.executor!r}.")
        check_arg("file_lag", self.file_lag, Interval(Integral, 0, None))
        columns = {name: getattr(self, name) for name in ("return_col", "id_col", "date_col")}
        for name, value in columns.items():
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{name} must be a column name (a non-empty string), got {value!r}; "
                                  f"{data_io.config_fix(name, None)}.")
        if len(set(columns.values())) < 3:
            raise ConfigError(f"return_col, id_col and date_col must name three different columns, got {columns}.")
        check_arg("return_unit", self.return_unit, Options(*RETURN_UNITS))
        check_arg("factors_return_unit", self.factors_return_unit, Options(*RETURN_UNITS))
        if self.factors_path is not None and (not isinstance(self.factors_path, str)
                                              or not Path(self.factors_path).is_file()):
            raise ConfigError(f"factors_path={self.factors_path!r} is not an existing file; "
                              f"{data_io.config_fix('factors_path', '<file>')}, {data_io.FACTORS_FILE_HINT}.")
        section_options("simulation", self.simulation, inspect.signature(simulate_panel).parameters,
                        "simulate_panel arguments")
        used = {_options_field(model) for model in self.models}
        for name in _OPTION_FIELDS:  # sections of models not compared are checked against the registry here
            value = getattr(self, name)
            if not isinstance(value, dict) or name not in used:
                section_options(name, value, _option_keys(name), "model options")
        for model in self.models:  # unknown or invalid model options fail here, not in a worker process
            try:
                PRICING_MODELS.create(model, self.model_options(model), n_factors=max(self.k_grid))._check_params()
            except ConfigError as exc:
                if _options_field(model) not in _OPTION_FIELDS:
                    raise
                raise ConfigError(f"{_options_field(model)}: {exc}") from None

    def model_options(self, model: str) -> dict[str, Any]:
        """Keyword arguments of ``model`` from its options field (``ca``, ``cvae``), quiet unless they say
        otherwise; ``{}`` for models without a field."""
        field_name = _options_field(model)
        return {"verbose": False, **getattr(self, field_name)} if field_name in _OPTION_FIELDS else {}


@dataclass(frozen=True)
class PricingStudyResult(StudyResult):
    """What :func:`run` produced: the run directory, the headline metrics and the tables (R² by model × K, ...).

    Tables: ``total_r2_stock``, ``predictive_r2_stock``, ``total_r2_portfolio``, ``predictive_r2_portfolio``
    (models × ``K=k``, percent; with several seeds also their ``*_std``), ``significant_alphas`` and
    ``importance``.

    Attributes
    ----------
    path : pathlib.Path
        The run directory.
    metrics : mapping
        Headline numbers, as in ``metrics.json`` (``windows``, ``models``, ``k_grid``, the R² tables, ...).
    tables : mapping of str to pandas.DataFrame
        The report's tables by name (read-only; :meth:`table` hands out copies).

    Examples
    --------
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> r2 = pd.DataFrame({"K=1": [20.1, 25.3], "K=2": [22.0, 27.9]}, index=pd.Index(["PCA", "IPCA"], name="model"))
    >>> result = PricingStudyResult(path=Path("runs/pricing"), metrics={"windows": [{}, {}]},
    ...                             tables={"total_r2_stock": r2})
    >>> print(result.summary())
    2 test windows, models ['PCA', 'IPCA']; stock-level total R² at K=2: best IPCA 27.90%; report: \
runs/pricing/report.html
    >>> copy = result.table("total_r2_stock")
    >>> copy.loc["IPCA", "K=2"] = 0.0  # a copy: the result keeps its numbers
    >>> float(result.table("total_r2_stock").loc["IPCA", "K=2"])
    27.9
    """

    def summary(self) -> str:
        """One line: windows, models and the best stock-level total R² at the largest K."""
        t = self.tables["total_r2_stock"]
        k = t.columns[-1]
        column = t[k]
        best = column.idxmax()
        return (f"{len(self.metrics['windows'])} test windows, models {list(t.index)}; stock-level total R² at "
                f"{k}: best {best} {column.max():.2f}%; report: {self.report}")


_load_panel = data_io.load_panel  # a module attribute, so that benchmarks can wrap the loader
# --------------------------------------------------------------------------------------------------- one fit
def _needs_factor_returns(model: str) -> bool:
    """Whether the model is fitted on observable factor returns (FF)."""
    return bool(getattr(PRICING_MODELS.get(model), "needs_factor_returns", False))


def _seeded(model: str) -> bool:
    """Whether the model's numbers depend on a seed (it has a ``seed`` parameter)."""
    return "seed" in PRICING_MODELS.params(model)


def fit_window(panel_path: str, factors_path: str, window: dict[str, Any], model: str, k: int,
               settings: dict[str, Any], seed: int, importance: bool, data: str = "") -> dict[str, Any]:
    """Fit one model on one window and return its test-span predictions (module-level: runs in worker processes).

    ``settings`` are the model's options (keyword arguments); ``data`` is the fingerprint of the data the fit uses
    (the panel, and the factors for FF): it makes a stored result invalid when the data change, and keys the
    worker's cache of the stored files (a rerun in the same process must not see the previous run's data)."""
    from latentquant.data.splits import YearlyWindow

    panel = data_io.read_stored_panel(panel_path, data)
    w = YearlyWindow(tuple(window["train"]), tuple(window["validation"]) if window["validation"] else None,
                     tuple(window["test"]))
    dates = panel.returns.index.get_level_values(0)
    tr, va, te = w.masks(dates)
    test = panel.select(te)
    estimator = PRICING_MODELS.create(model, settings, n_factors=k, **({"seed": seed} if _seeded(model) else {}))
    fit_kwargs: dict[str, Any] = {}
    if estimator.needs_factor_returns:
        factors = data_io.read_stored_factors(factors_path, data)
        if factors is None:
            raise ConfigError(f"model {model} needs observable factors; the data source provides none.")
        fit_kwargs["factor_returns"] = factors
    t0 = time.perf_counter()
    if estimator.uses_validation:  # neural models: early stopping on the validation years
        estimator.fit(panel.select(tr), panel.select(va) if va.any() else None, **fit_kwargs)
    else:  # nothing to tune: fitted on training + validation years
        estimator.fit(panel.select(tr | va), **fit_kwargs)
    history = panel.select(tr | va)
    out: dict[str, Any] = {"seconds": time.perf_counter() - t0}
    out["fitted"] = estimator.fitted(test)
    out["predicted"] = estimator.predicted(test, history=history)
    if importance:
        out["importance"] = characteristic_importance(estimator, test, normalize=False)
    return out


# --------------------------------------------------------------------------------------------------- run
def run(config: PricingStudyConfig, *, resume: bool = True) -> PricingStudyResult:
    """Run the study (see the module docstring) and write its run directory.

    Parameters
    ----------
    config : PricingStudyConfig
        Every choice of the study; validated first, before any data are read.
    resume : bool, default True
        Reuse the fits already stored in the run directory (an interrupted study continues where it stopped);
        ``False`` recomputes every fit.

    Returns
    -------
    PricingStudyResult

    Raises
    ------
    ConfigError
        An invalid option.

    Examples
    --------
    A small grid on the simulated panel (a few minutes on a laptop):

    >>> config = PricingStudyConfig.from_dict({"models": ["PCA", "IPCA"], "k_grid": [1, 3], "out": "runs/pricing"})
    >>> result = run(config)  # doctest: +SKIP
    >>> result.table("total_r2_stock")  # doctest: +SKIP

    A bad option fails at once:

    >>> run(PricingStudyConfig(models=["PCA", "XYZ"]))
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: models must be a non-empty list from [...], got ['PCA', 'XYZ'].
    """
    cfg = config
    t_start = time.perf_counter()  # the manifest's total time covers the whole run
    cfg.validate()
    panel, factors, source, data_report = _load_panel(cfg)
    skipped = [m for m in cfg.models if _needs_factor_returns(m) and factors is None]
    models = [m for m in cfg.models if m not in skipped]
    if skipped:
        fix = data_io.config_fix("factors_path", "<file>")
        warnings.warn(f"model {', '.join(skipped)} {'is' if len(skipped) == 1 else 'are'} skipped: this data source "
                      f"provides no observable factor returns; to run it, {fix}, {data_io.FACTORS_FILE_HINT}.",
                      DataWarning, stacklevel=2)
    windows = data_io.study_windows(cfg, panel).windows()
    dates = panel.returns.index.get_level_values(0)
    for w in windows:
        tr, _, te = w.masks(dates)
        if not tr.any() or not te.any():
            raise DataValidationError(f"window {w.label} has no {'training' if not tr.any() else 'test'} months in "
                                      "the data; adjust start_year/first_test_year/last_test_year.")
    if factors is not None and any(_needs_factor_returns(m) for m in models):
        data_io.check_factor_coverage(factors, data_io.used_dates(panel, [m for w in windows for m in w.masks(dates)]),
                              f"factors file {data_report['factors']['file']!r}" if "factors" in data_report
                              else "the observable factors of this data source")
    out = Path(cfg.out)
    store = out / "fits"
    store.mkdir(parents=True, exist_ok=True)
    frame = panel.characteristics.assign(__ret__=panel.returns)
    panel_path, factors_path = out / "fits" / "panel.parquet", out / "fits" / "factors.parquet"
    atomic_write(panel_path, frame.to_parquet)
    if factors is not None:
        atomic_write(factors_path, factors.to_parquet)
    fingerprint = data_fingerprint(frame)
    with_factors = data_fingerprint(frame, factors) if factors is not None else fingerprint  # FF's fits use both
    settings = {m: cfg.model_options(m) for m in models}

    def seeds_of(model: str) -> list[int]:  # only the models with a seed depend on it
        return list(cfg.seeds) if _seeded(model) else [cfg.seeds[0]]

    def key(i: int, model: str, k: int, seed: int) -> str:
        return f"w{i:02d}-{model}-K{k}-s{seed}"

    tasks = []
    for i, w in enumerate(windows):
        for model in models:
            for k in cfg.k_grid:
                if _needs_factor_returns(model) and factors is not None and k > factors.shape[1]:
                    continue  # no more observable factors than the data hold
                for seed in seeds_of(model):
                    tasks.append(Task(key=key(i, model, k, seed), fn=fit_window, kwargs={
                        "panel_path": str(panel_path), "factors_path": str(factors_path),
                        "window": asdict(w), "model": model, "k": k, "settings": settings[model], "seed": seed,
                        "importance": i == len(windows) - 1 and k == max(cfg.k_grid) and seed == cfg.seeds[0],
                        "data": (with_factors if _needs_factor_returns(model) else fingerprint)[:16]}))
    t0 = time.perf_counter()
    results = run_tasks(tasks, executor=cfg.executor, n_jobs=cfg.n_jobs, store=store if resume else None,
                        ray_address=cfg.ray_address, progress=progress_printer(cfg.verbose))
    fit_seconds = time.perf_counter() - t0

    # --- pool the test-span predictions over windows -------------------------------------------------------
    tables, alphas, r = pool_tables(cfg, panel, windows, dates, models, results, key, seeds_of)

    # --- write the run directory ------------------------------------------------------------------------------
    metrics = write_report(cfg, out=out, source=source, t_start=t_start, fit_seconds=fit_seconds, panel=panel,
                           windows=windows, models=models, tables=tables, alphas=alphas, r=r, n_tasks=len(tasks),
                           data_report=data_report, fingerprint=fingerprint)
    return PricingStudyResult(path=out, metrics=metrics, tables=tables)

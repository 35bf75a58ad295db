"""The data of the asset-pricing study: the panel and the observable factors, and a report of what was done to them.

:func:`load_panel` builds the (lagged, ranked) panel of ``config.data`` — the simulated panel, the bundled stocks or
a user's CRSP/GKX-layout file (:func:`~latentquant.data.panel_io.read_gkx_panel`) — and the factor returns of FF (the
data source's own, or a user's ``factors_path`` file, :func:`~latentquant.data.panel_io.read_factor_returns`). For a
user's files it returns a report, written to ``metrics.json`` and ``manifest.json`` (``data_report``) and warned
about as it happens: the units of the returns (percent divided by 100), the non-numeric columns left out, the share
of missing characteristic values set to 0 by the rank transform, and the factor and risk-free columns read.

Errors speak the config's language: a fix names the config key and the matching command-line option.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from latentquant.data import Panel, YearlyWindows, simulate_panel
from latentquant.data.panel_io import load_factor_file, load_gkx_file
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning

if TYPE_CHECKING:
    from latentquant.experiments.asset_pricing import PricingStudyConfig

__all__ = ["check_factor_coverage", "config_fix", "load_panel", "missing_report", "read_stored_factors",
           "read_stored_panel", "report_lines", "study_windows", "used_dates"]

FACTORS_FILE_HINT = ("a CSV or Parquet file with a date column and factor columns such as Mkt-RF, SMB, HML "
                     "(optional RF)")


def config_fix(option: str, value: str | None) -> str:
    """How a user of the study sets ``option``: the config key and the matching command-line option.

    >>> config_fix("return_col", None)
    'set return_col: <name> in the config or --return-col <name>'
    """
    shown = "<name>" if value is None else value
    return f"set {option}: {shown} in the config or --{option.replace('_', '-')} {shown}"


def _factors_fix(option: str, value: str | None) -> str:
    """The factors file's options carry a ``factors_`` prefix in the config (``factors_return_unit``)."""
    return config_fix(f"factors_{option}", value)


def missing_report(characteristics: pd.DataFrame, name: str) -> dict[str, Any]:
    """Share of missing characteristic values (overall and per column), with a ``DataWarning`` when any are missing.

    The rank transform sets them to 0 (the cross-sectional median), so the study says how many there were.

    >>> idx = pd.MultiIndex.from_product([pd.to_datetime(["2000-01-31"]), ["a", "b"]])
    >>> z = pd.DataFrame({"mom": [1.0, 2.0], "bm": [np.nan, 1.0]}, index=idx)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     missing_report(z, "u.csv")
    {'missing_share': 0.25, 'missing_share_by_column': {'mom': 0.0, 'bm': 0.5}}
    """
    isna = characteristics.isna()
    share = isna.mean()
    overall = float(isna.to_numpy().mean()) if characteristics.size else 0.0
    if overall > 0:
        worst = share[share > 0].sort_values(ascending=False, kind="stable")
        listed = ", ".join(f"{c} {100 * v:.1f}%" for c, v in worst.head(10).items())
        more = f", and {len(worst) - 10} more" if len(worst) > 10 else ""
        warnings.warn(
            f"{100 * overall:.1f}% of the characteristic values of {name!r} are missing (after the lag) and set to 0, "
            f"the cross-sectional median after ranking; {len(worst)} of {characteristics.shape[1]} column(s) have "
            f"gaps: {listed}{more}. metrics.json (data_report) lists the share of every column.", DataWarning,
            stacklevel=3)
    return {"missing_share": overall, "missing_share_by_column": {str(c): float(v) for c, v in share.items()}}


def load_panel(cfg: PricingStudyConfig) -> tuple[Panel, pd.DataFrame | None, str, dict[str, Any]]:
    """The (lagged, ranked) panel, observable factors for FF (or None), a description and the data report."""
    factors: pd.DataFrame | None = None
    report: dict[str, Any] = {}
    if cfg.data == "simulated":
        sim = simulate_panel(**cfg.simulation)
        panel, factors = sim.panel, sim.factors
        source = f"simulated panel ({cfg.simulation}); FF uses the true factors"
    elif cfg.data == "bundled_prices":
        from latentquant.data import bundled_price_panel
        from latentquant.datasets import load_ff3

        panel = bundled_price_panel().rank()
        factors = load_ff3()[["MktRF", "SMB", "HML"]]
        factors.index = factors.index + pd.offsets.MonthEnd(0)
        source = "monthly price-based characteristics of the 20 bundled S&P 500 stocks; FF = Fama–French 3 factors"
    else:
        path = Path(cfg.data)
        if not path.exists():
            raise ConfigError(f"data={cfg.data!r} is neither 'simulated', 'bundled_prices' nor an existing file.")
        raw, report["panel"] = load_gkx_file(path, return_col=cfg.return_col, id_col=cfg.id_col,
                                             date_col=cfg.date_col, characteristics=None, lag=cfg.file_lag,
                                             return_unit=cfg.return_unit, fix=config_fix)
        report["panel"].update(missing_report(raw.characteristics, path.name))
        panel = raw.rank()
        source = f"panel file {path} (characteristics lagged {cfg.file_lag} month(s), ranked)"
    if cfg.factors_path is not None:
        frame, report["factors"] = load_factor_file(cfg.factors_path, date_col=None,
                                                    return_unit=cfg.factors_return_unit, fix=_factors_fix)
        factors = frame[report["factors"]["factors"]]
        source = source.split("; FF")[0] + f"; FF = the factors of {Path(cfg.factors_path).name}"
    if cfg.add_constant:
        panel = panel.with_constant()
    return panel, factors, source, report


def study_windows(cfg: PricingStudyConfig, panel: Panel) -> YearlyWindows:
    """The study's calendar-year windows on ``panel`` (defaults: the data's first year, the start of its last third
    and its last year)."""
    years = pd.DatetimeIndex(panel.dates).year
    start = cfg.start_year if cfg.start_year is not None else int(years.min())
    last = cfg.last_test_year if cfg.last_test_year is not None else int(years.max())
    first = cfg.first_test_year
    if first is None:  # default: test the last third of the years
        first = int(years.min() + round(2 * (years.max() - years.min() + 1) / 3))
    return YearlyWindows(start, first, last, val_years=cfg.val_years, refit_every=cfg.refit_every, scheme=cfg.scheme)


def check_factor_coverage(factors: pd.DataFrame, dates: pd.Index, label: str) -> None:
    """Raise :class:`DataValidationError` unless ``factors`` has a complete row for every month in ``dates``.

    >>> f = pd.DataFrame({"Mkt-RF": [0.01, np.nan]}, index=pd.to_datetime(["2000-01-31", "2000-02-29"]))
    >>> check_factor_coverage(f, pd.to_datetime(["2000-01-31", "2000-02-29", "2000-03-31"]), "factors file 'ff.csv'")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: factors file 'ff.csv' does not cover the panel: 2 of the 3 months \
the study uses have no complete factor row (first 2000-02, last 2000-03; the factor rows run 2000-01 to 2000-02); \
extend the factors file to 2000-01 to 2000-03, or narrow the study with start_year / last_test_year.
    """
    complete = pd.DatetimeIndex(factors.dropna(how="any").index)
    missing = pd.DatetimeIndex(dates).difference(complete)
    if len(missing):
        span = (f"the factor rows run {factors.index.min():%Y-%m} to {factors.index.max():%Y-%m}" if len(factors)
                else "the factor table is empty")
        raise DataValidationError(
            f"{label} does not cover the panel: {len(missing)} of the {len(dates)} months the study uses have no "
            f"complete factor row (first {missing[0]:%Y-%m}, last {missing[-1]:%Y-%m}; {span}); extend the factors "
            f"file to {min(dates):%Y-%m} to {max(dates):%Y-%m}, or narrow the study with start_year / last_test_year."
        )


def report_lines(report: dict[str, Any]) -> str:
    """One sentence per file of the data report, for the run's Set-up section (empty without user files)."""
    lines = []
    panel = report.get("panel")
    if panel:
        unit = panel["return_unit"]
        lines.append(
            f"Panel file {panel['file']}: returns read as {unit['unit']} ({unit['rule']})"
            f"{', divided by 100' if unit['divided_by_100'] else ''}; {panel['n_dropped_columns']} non-numeric "
            f"column(s) left out{': ' + ', '.join(panel['dropped_columns']) if panel['dropped_columns'] else ''}; "
            f"{100 * panel['missing_share']:.2f}% of the characteristic values missing and set to 0.")
    factors = report.get("factors")
    if factors:
        unit = factors["return_unit"]
        lines.append(
            f"Factors file {factors['file']}: {', '.join(factors['factors'])} ({factors['first_month']} to "
            f"{factors['last_month']}), read as {unit['unit']} ({unit['rule']})"
            f"{', divided by 100' if unit['divided_by_100'] else ''}"
            + (f"; its {factors['rf_column']} column is not a factor and is not used" if factors["rf_column"] else "")
            + ".")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------- in the workers
@functools.lru_cache(maxsize=2)
def read_stored_panel(path: str, fingerprint: str) -> Panel:
    """The panel a study stored in its run directory (``fits/panel.parquet``), cached per path and data
    fingerprint."""
    return Panel.from_frame(pd.read_parquet(path), return_col="__ret__")


@functools.lru_cache(maxsize=2)
def read_stored_factors(path: str, fingerprint: str) -> pd.DataFrame | None:
    """The factor returns a study stored in its run directory, or None; cached like :func:`read_stored_panel`."""
    return pd.read_parquet(path) if Path(path).exists() else None


def used_dates(panel: Panel, masks: list[np.ndarray]) -> pd.Index:
    """The panel's dates in any of ``masks`` (the training, validation and test rows of every window)."""
    dates = panel.returns.index.get_level_values(0)
    used = np.zeros(len(dates), bool)
    for mask in masks:
        used |= mask
    return dates[used].unique()

"""Figures of the factor-model reports: latent traversals, fan charts of simulated paths, metric curves (e.g. R²
against the number of factors) and alpha scatters of pricing errors. Each function takes plain pandas/numpy inputs
and returns a Figure; all are re-exported by :mod:`latentquant.reports.figures`.

Legends follow the rule of :mod:`latentquant.reports.figures`: at most ``legend_max`` (default 10) series get a colour
and a legend entry, the rest are drawn thin and grey under one ``others (n)`` entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from latentquant.reports._legend import _LEGEND_MAX, _OTHERS, _nan_abs_mean, _top, _with_others

__all__ = ["plot_alpha_scatter", "plot_fan_chart", "plot_metric_curves", "plot_traversal"]


def plot_traversal(responses: Mapping[str, pd.DataFrame], *, ylabel: str = "decoded return",
                   max_lines: int = _LEGEND_MAX) -> Figure:
    """Latent traversals: one panel per factor; each panel shows every asset's decoded response (lines) as that
    factor is swept (x-axis: the factor's value, rows of each table) while the others are held fixed.

    Every asset is drawn. The ``max_lines`` most responsive assets — the largest range (max − min) of the decoded
    response, summed over the factors — keep one colour in every panel and a legend entry; the others are thin and
    grey under one ``others (n)`` entry.

    Parameters
    ----------
    responses : mapping of str to pandas.DataFrame
        Factor name → swept values × assets (e.g. ``VAEFactorModel.traverse()``), the same assets in every table.
    ylabel : str, default "decoded return"
        Label of the y-axis.
    max_lines : int, default 10
        At most this many assets get a colour and a legend entry.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> sweep = [-2.0, 0.0, 2.0]
    >>> responses = {"f1": pd.DataFrame({"A": [-1.0, 0.0, 1.0], "B": [1.0, 0.0, -1.0]}, index=sweep),
    ...              "f2": pd.DataFrame({"A": [0.0, 0.0, 0.0], "B": [0.5, 0.0, -0.5]}, index=sweep)}
    >>> fig = plot_traversal(responses)
    >>> [ax.get_title() for ax in fig.axes], [len(ax.lines) for ax in fig.axes]  # 2 assets + 2 reference lines
    (['sweep f1', 'sweep f2'], [4, 4])
    >>> plt.close(fig)
    """
    names = list(responses)
    assets = list(responses[names[0]].columns) if names else []
    spread = np.zeros(len(assets))
    for frame in responses.values():
        values = frame.reindex(columns=assets).to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            rng = np.nanmax(values, axis=0, initial=-np.inf) - np.nanmin(values, axis=0, initial=np.inf)
        spread += np.where(np.isfinite(rng), rng, 0.0)
    keep = _top(spread, max_lines) if assets else np.zeros(0, dtype=bool)
    colour = {a: f"C{rank % 10}" for rank, a in enumerate(a for a, k in zip(assets, keep, strict=True) if k)}
    n_cols = min(4, len(names))
    n_rows = int(np.ceil(len(names) / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.6 * n_cols, 2.9 * n_rows), squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, names, strict=False):
        frame = responses[name]
        for col in frame.columns:
            if col in colour:
                ax.plot(frame.index, frame[col], lw=0.9, color=colour[col], zorder=3)
            else:
                ax.plot(frame.index, frame[col], lw=0.5, color=_OTHERS, zorder=2)
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5, ls=":")
        ax.set_title(f"sweep {name}")
        ax.set_xlabel(f"{name} (others fixed)")
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    axes[0, 0].set_ylabel(ylabel)
    handles, labels = _with_others([Line2D([], [], color=c, lw=0.9) for c in colour.values()],
                                   [str(a) for a in colour], int((~keep).sum()))
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def plot_fan_chart(paths: Mapping[str, np.ndarray], *, realised: pd.Series | None = None,
                   quantiles: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95), ylabel: str = "cumulative return",
                   title: str = "", legend_max: int = _LEGEND_MAX) -> Figure:
    """Fan chart of simulated cumulative paths: for each named set of paths (``(n_paths, horizon)`` arrays), the
    median and the bands between symmetric quantiles; an optional realised path (indexed 1..horizon) on top.

    With more than ``legend_max`` sets, the ``legend_max`` sets whose median ends farthest from 0 (largest
    ``|median|`` at the last step) get their bands, a colour and a legend entry; the others show only their median,
    thin and grey, under one ``others (n)`` entry.

    Parameters
    ----------
    paths : mapping of str to numpy.ndarray
        Name → simulated cumulative returns, ``(n_paths, horizon)``.
    realised : pandas.Series, optional
        The realised cumulative return (its name is the legend label).
    quantiles : sequence of float, default (0.05, 0.25, 0.5, 0.75, 0.95)
        Symmetric quantiles; each outer pair is a band.
    ylabel, title : str
        Labels.
    legend_max : int, default 10
        At most this many sets get bands, a colour and a legend entry.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, pandas as pd
    >>> paths = {"prior": np.cumsum(np.random.default_rng(0).normal(0, 0.01, (200, 10)), axis=1)}
    >>> fig = plot_fan_chart(paths, realised=pd.Series(np.linspace(0, -0.1, 10), name="2008"))
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()], len(fig.axes[0].collections)  # two bands
    (['prior: median, 5%–95% band', '2008'], 2)
    >>> plt.close(fig)
    """
    q = sorted(quantiles)
    medians = {name: np.median(arr, axis=0) for name, arr in paths.items()}
    keep: np.ndarray = (_top([abs(m[-1]) if len(m) else np.nan for m in medians.values()], legend_max) if paths
                        else np.zeros(0, dtype=bool))
    fig, ax = plt.subplots(figsize=(8, 4))
    rank = 0
    for (name, arr), shown in zip(paths.items(), keep, strict=True):
        steps = np.arange(1, arr.shape[1] + 1)
        if not shown:
            ax.plot(steps, medians[name], color=_OTHERS, lw=0.6, zorder=2)
            continue
        qs = np.quantile(arr, q, axis=0)
        color = f"C{rank % 10}"
        rank += 1
        for lo in range(len(q) // 2):  # nested bands: (q0, q-1), (q1, q-2), ...
            ax.fill_between(steps, qs[lo], qs[len(q) - 1 - lo], color=color, alpha=0.15, lw=0)
        ax.plot(steps, medians[name], color=color, lw=1.2, zorder=3, label=f"{name}: median, "
                f"{q[0]:.0%}–{q[-1]:.0%} band")
    if realised is not None:
        ax.plot(np.arange(1, len(realised) + 1), realised.to_numpy(), color="k", lw=1.3, zorder=4,
                label=str(realised.name))
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("days ahead")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    handles, labels = _with_others(*ax.get_legend_handles_labels(), int((~keep).sum()))
    ax.legend(handles, labels, fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def plot_metric_curves(mean: pd.DataFrame, std: pd.DataFrame | None = None, *, xlabel: str = "", ylabel: str = "",
                       title: str = "", legend_max: int = _LEGEND_MAX) -> Figure:
    """One line per column of ``mean`` against its index (e.g. R² against the number of factors), with ±1 std
    error bars from ``std`` (e.g. across seeds).

    With more than ``legend_max`` columns, the ``legend_max`` columns with the largest mean absolute value over the
    index (for R²: the best models) keep a colour, error bars and a legend entry; the others are thin grey lines
    under one ``others (n)`` entry.

    Parameters
    ----------
    mean : pandas.DataFrame
        x values (index) × lines.
    std : pandas.DataFrame, optional
        Error bars, same shape.
    xlabel, ylabel, title : str
        Labels.
    legend_max : int, default 10
        At most this many lines get a colour and a legend entry.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> r2 = pd.DataFrame({"VAE": [0.3, 0.4, 0.45], "PCA": [0.28, 0.38, 0.44]}, index=pd.Index([1, 2, 3], name="K"))
    >>> fig = plot_metric_curves(r2, 0 * r2 + 0.01, xlabel="K")
    >>> len(fig.axes[0].containers), [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    (2, ['VAE', 'PCA'])
    >>> plt.close(fig)
    """
    keep = _top(_nan_abs_mean(mean), legend_max)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    rank = 0
    for i, col in enumerate(mean.columns):
        if not keep[i]:
            ax.plot(mean.index, mean.iloc[:, i].to_numpy(), lw=0.6, color=_OTHERS, zorder=2)
            continue
        err = std[col].to_numpy() if std is not None and col in std else None
        ax.errorbar(mean.index, mean.iloc[:, i].to_numpy(), yerr=err, marker="o", ms=4, capsize=3,
                    color=f"C{rank % 10}", label=str(col), zorder=3)
        rank += 1
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    handles, labels = _with_others(*ax.get_legend_handles_labels(), int((~keep).sum()))
    ax.legend(handles, labels, fontsize=8)
    fig.tight_layout()
    return fig


def plot_alpha_scatter(tables: Mapping[str, pd.DataFrame], *, threshold: float = 3.0) -> Figure:
    """Mean realised vs mean model-implied return of each test portfolio, one panel per model; points whose alpha has
    ``|t_stat| > threshold`` are filled red. Each table needs columns ``mean_return``, ``mean_fitted``, ``t_stat``.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Model name → one row per portfolio (e.g. :func:`~latentquant.evaluation.pricing_errors` with the means).
    threshold : float, default 3.0
        Absolute t-statistic above which an alpha is significant.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> ff = pd.DataFrame({"mean_return": [0.01, 0.02, 0.015], "mean_fitted": [0.011, 0.012, 0.014],
    ...                    "t_stat": [0.5, 3.4, -1.0]})
    >>> fig = plot_alpha_scatter({"FF": ff, "PCA": ff.assign(t_stat=0.0)})
    >>> [ax.get_title() for ax in fig.axes], [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    (['FF', 'PCA'], ['|t| ≤ 3', '|t| > 3 (1)'])
    >>> plt.close(fig)
    """
    names = list(tables)
    n_cols = min(4, len(names))
    n_rows = int(np.ceil(len(names) / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.4 * n_cols, 3.3 * n_rows), squeeze=False)
    values = np.concatenate([t[["mean_return", "mean_fitted"]].to_numpy().ravel() for t in tables.values()])
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    pad = 0.05 * (hi - lo or 1.0)
    for ax, name in zip(axes.flat, names, strict=False):
        t = tables[name]
        sig = t["t_stat"].abs() > threshold
        ax.scatter(t.loc[~sig, "mean_fitted"], t.loc[~sig, "mean_return"], s=14, facecolors="none",
                   edgecolors="C0", label=f"|t| ≤ {threshold:g}")
        ax.scatter(t.loc[sig, "mean_fitted"], t.loc[sig, "mean_return"], s=16, color="C3",
                   label=f"|t| > {threshold:g} ({int(sig.sum())})")
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="k", lw=0.6)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_title(name)
        ax.set_xlabel("model-implied mean")
        ax.legend(fontsize=7, loc="upper left")
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    axes[0, 0].set_ylabel("realised mean")
    fig.tight_layout()
    return fig

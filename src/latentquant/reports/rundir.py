"""The run directory written by every experiment and by CLI commands that fit, and its self-contained HTML report.

Layout::

    runs/<name>/
      config.json   manifest.json   metrics.json
      tables/*.csv + *.md   figures/*.png   model/   report.html

Every JSON file is strict JSON: a NaN or infinite number (a statistic that is not defined for the run, such as a
standard deviation over one seed) is written as ``null``, and ``metrics.json`` lists the paths of those keys under
``"undefined"``. Tables show such cells empty, never as ``nan`` or ``inf``.

This module renders and writes files only; it imports no model code, so experiments can use it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import platform
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, select_autoescape

from latentquant._io import atomic_write
from latentquant.exceptions import ConfigError

__all__ = ["RunDirectory", "check_path_name", "data_fingerprint", "environment_info", "to_markdown"]

_FORBIDDEN_IN_NAMES = ("/", "\\", ":", "\0")


def check_path_name(name: str, value: Any, *, owner: str | None = None) -> None:
    """Raise :class:`~latentquant.exceptions.ConfigError` unless ``value`` can be one component of an output path.

    A name taken from a config or an argument that becomes a file or directory name (a universe name, a table name)
    must not lead outside the output directory: it must be a non-empty string without path separators (``/``,
    ``\\``), drive colons or NUL characters, and not ``.`` or ``..``.

    Parameters
    ----------
    name : str
        The option's name, as the user wrote it (shown in the message).
    value : object
        Its value.
    owner : str, optional
        Who takes the option (e.g. ``"universe '../x'"``), put in front of the message.

    Raises
    ------
    ConfigError
        The value is not a plain, non-empty file name.

    Examples
    --------
    >>> check_path_name("name", "stocks")
    >>> check_path_name("name", "../../etc")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: name '../../etc' cannot be used as a file name (it becomes a path \
component of the output directory): use a non-empty name without '/', '\\', ':' or NUL that is not '.' or '..', \
e.g. letters, digits, '_', '-' and '.'.
    """
    ok = (isinstance(value, str) and value.strip() != "" and value not in (".", "..")
          and not any(ch in value for ch in _FORBIDDEN_IN_NAMES))
    if not ok:
        prefix = f"{owner}: " if owner else ""
        raise ConfigError(
            f"{prefix}{name} {value!r} cannot be used as a file name (it becomes a path component of the output "
            "directory): use a non-empty name without '/', '\\', ':' or NUL that is not '.' or '..', e.g. letters, "
            "digits, '_', '-' and '.'.")


def to_markdown(df: pd.DataFrame, *, floatfmt: str = ".4g", index: bool = True) -> str:
    """A GitHub-flavoured markdown table (no extra dependency).

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    floatfmt : str, default ".4g"
        Format of float cells (NaN, infinite and missing cells are left empty).
    index : bool, default True
        Write the index as the first column.

    Returns
    -------
    str
        One line per row, ending with a newline; ``|`` in cells is escaped.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> print(to_markdown(pd.DataFrame({"r2": [0.51234, np.nan, np.inf]}, index=["vae", "pca", "ae"])), end="")
    | index | r2 |
    |---|---|
    | vae | 0.5123 |
    | pca |  |
    | ae |  |
    """
    frame = df.reset_index() if index else df

    def fmt(v: Any) -> str:
        if v is None or v is pd.NA or v is pd.NaT:
            return ""
        if isinstance(v, (float, np.floating)):
            return format(float(v), floatfmt) if math.isfinite(v) else ""
        return str(v).replace("|", "\\|")

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    sep = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, sep, *rows]) + "\n"


def data_fingerprint(*frames: pd.DataFrame) -> str:
    """sha256 of the values, index and columns of the given tables (identifies the exact data used).

    Parameters
    ----------
    *frames : pandas.DataFrame
        The tables, hashed in order.

    Returns
    -------
    str
        64 hexadecimal digits.

    Examples
    --------
    >>> import pandas as pd
    >>> prices = pd.DataFrame({"A": [1.0, 2.0]}, index=pd.date_range("2020-01-01", periods=2))
    >>> same, changed = data_fingerprint(prices.copy()), data_fingerprint(prices * 1.001)
    >>> data_fingerprint(prices) == same, data_fingerprint(prices) == changed, len(same)
    (True, False, 64)
    """
    h = hashlib.sha256()
    for df in frames:
        h.update(np.ascontiguousarray(df.to_numpy(dtype=np.float64)).tobytes())
        h.update("|".join(map(str, df.index)).encode())
        h.update("|".join(map(str, df.columns)).encode())
    return h.hexdigest()


def _git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment_info() -> dict[str, Any]:
    """Versions of Python and the numerical stack, the platform and the git commit, for manifests.

    Returns
    -------
    dict
        ``python``, ``platform``, ``machine``, ``versions`` (package → version or ``None``) and ``git_sha`` (``None``
        outside a git checkout).

    Examples
    --------
    >>> import platform
    >>> info = environment_info()
    >>> sorted(info), info["python"] == platform.python_version()
    (['git_sha', 'machine', 'platform', 'python', 'versions'], True)
    >>> sorted(info["versions"])
    ['latentquant', 'matplotlib', 'numpy', 'pandas', 'scikit-learn', 'scipy', 'torch']
    """
    versions: dict[str, str | None] = {}
    for pkg in ("latentquant", "numpy", "pandas", "scipy", "scikit-learn", "torch", "matplotlib"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "machine": platform.machine(),
            "versions": versions, "git_sha": _git_sha()}


def _finite_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with infinite and missing (``None``) cells set to NaN, which every writer shows empty."""
    return df.mask(df.isin([np.inf, -np.inf]) | df.isna())


def _strict(obj: Any, path: str = "", undefined: list[str] | None = None) -> Any:
    """``obj`` with NaN/±inf numbers (Python, numpy, in dicts, lists, tuples and arrays) replaced by ``None``; the
    ``/``-joined key paths of the replaced values are appended to ``undefined``."""
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    elif isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        if undefined is not None:
            undefined.append(path)
        return None
    if isinstance(obj, dict):
        return {(k.item() if isinstance(k, np.generic) else k):
                _strict(v, f"{path}/{k}" if path else str(k), undefined) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v, f"{path}/{i}" if path else str(i), undefined) for i, v in enumerate(obj)]
    return obj


def _dumps(obj: Any) -> str:
    """Strict JSON (no NaN/Infinity tokens) of an object already passed through :func:`_strict`."""
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default, allow_nan=False)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (pd.Timestamp, Path)):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


@dataclass
class _Section:
    title: str
    text: str = ""
    figures: list[tuple[str, str]] = field(default_factory=list)  # (caption, base64 png)
    tables: list[tuple[str, str]] = field(default_factory=list)  # (caption, html)


class RunDirectory:
    """Write the artefacts of one run and assemble its self-contained ``report.html``.

    Writing a new run into the directory of a finished one first removes that run's figures and tables. Every file
    is written atomically (:func:`latentquant.base.atomic_write`: a temporary file in the same directory, then a
    rename), so a full disk or a kill never leaves a truncated file behind. Names of tables, figures and JSON files
    must be plain file names (:func:`check_path_name`): nothing is written outside the run directory.

    Parameters
    ----------
    path : str or pathlib.Path
        The run directory (created with ``tables/`` and ``figures/`` if missing).
    title : str
        Title of the HTML report.
    started : float, optional
        A :func:`time.perf_counter` reading taken when the run began (before loading data and training). The
        manifest's ``timings.total_seconds`` is measured from it, so it covers the whole run even when the directory
        is created only after the fits; ``timings.write_seconds`` is the time from this object's creation to
        :meth:`finish`. Default: this object's creation, and ``total_seconds_from`` in the manifest says so.

    Examples
    --------
    >>> import json, tempfile, pandas as pd
    >>> run = RunDirectory(tempfile.mkdtemp(), title="demo")
    >>> run.section("Results", "One table.")
    >>> _ = run.save_table("scores", pd.DataFrame({"r2": [0.5]}, index=["vae"]))
    >>> report = run.finish(config={"seed": 0}, metrics={"r2": 0.5, "r2_std": float("nan")})
    >>> sorted(str(p.relative_to(run.path)) for p in run.path.rglob("*") if p.is_file())
    ['config.json', 'manifest.json', 'metrics.json', 'report.html', 'tables/scores.csv', 'tables/scores.md', \
'tables/scores.tex']
    >>> json.loads((run.path / "metrics.json").read_text()), "One table." in report.read_text()
    ({'r2': 0.5, 'r2_std': None, 'undefined': ['r2_std']}, True)

    A study that creates its run directory after the fits passes its start time, so that the manifest's total time
    includes them:

    >>> import time
    >>> t0 = time.perf_counter() - 60.0  # as if the study had started (and trained) a minute ago
    >>> run = RunDirectory(tempfile.mkdtemp(), title="demo", started=t0)
    >>> manifest = json.loads(run.finish(config={}, metrics={}).with_name("manifest.json").read_text())
    >>> manifest["timings"]["total_seconds"] >= 60.0 > manifest["timings"]["write_seconds"]
    True
    >>> manifest["total_seconds_from"]
    'study start'
    """

    def __init__(self, path: str | Path, *, title: str, started: float | None = None) -> None:
        self._created = time.perf_counter()
        if started is not None and not (isinstance(started, (int, float)) and math.isfinite(started)
                                        and started <= self._created):
            raise ValueError(f"started must be an earlier time.perf_counter() reading, got {started!r}.")
        self._t0 = self._created if started is None else float(started)
        self._started_by_study = started is not None
        self.path = Path(path)
        self.title = title
        if (self.path / "manifest.json").is_file():
            # re-running into the same directory replaces the previous run's figures and tables, so that the folder
            # never mixes two runs (other files in the directory are left alone)
            for pattern in ("figures/*.png", "tables/*.csv", "tables/*.md", "tables/*.tex"):
                for old in self.path.glob(pattern):
                    old.unlink()
        for sub in ("", "tables", "figures"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        self._sections: list[_Section] = []
        self.timings: dict[str, float] = {}

    def child(self, *parts: str) -> Path:
        """The path ``<run directory>/<parts...>``, checked to stay inside the run directory.

        Parameters
        ----------
        *parts : str
            Path components, each a plain file name (see :func:`check_path_name`).

        Returns
        -------
        pathlib.Path
            The path (not created).

        Raises
        ------
        ConfigError
            A component is empty, ``.``/``..``, holds a path separator, or the resolved path leaves the run
            directory.

        Examples
        --------
        >>> import tempfile
        >>> run = RunDirectory(tempfile.mkdtemp(), title="demo")
        >>> run.child("model", "stocks") == run.path / "model" / "stocks"
        True
        >>> run.child("model", "..")
        Traceback (most recent call last):
        ...
        latentquant.exceptions.ConfigError: output name '..' cannot be used as a file name (it becomes a path \
component of the output directory): use a non-empty name without '/', '\\', ':' or NUL that is not '.' or '..', \
e.g. letters, digits, '_', '-' and '.'.
        """
        for part in parts:
            check_path_name("output name", part)
        out = self.path.joinpath(*parts)
        root = self.path.resolve()
        resolved = out.resolve()
        if resolved != root and root not in resolved.parents:
            raise ConfigError(f"output name {'/'.join(parts)!r} resolves to {resolved}, outside the run directory "
                              f"{root}: use a plain file name.")
        return out

    def section(self, title: str, text: str = "") -> None:
        """Start a report section; later figures and tables go into it."""
        self._sections.append(_Section(title, text))

    def _current(self) -> _Section:
        if not self._sections:
            self.section("Results")
        return self._sections[-1]

    def save_figure(self, name: str, fig: Any, caption: str = "") -> Path:
        """Save a matplotlib figure to ``figures/<name>.png`` and embed it in the current section."""
        import matplotlib.pyplot as plt

        out = self.child("figures", f"{name}.png")
        try:
            atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight",
                                                      metadata={"Software": None}))
        finally:
            plt.close(fig)
        self._current().figures.append((caption or name, base64.b64encode(out.read_bytes()).decode()))
        return out

    def save_table(self, name: str, df: pd.DataFrame, caption: str = "", *, floatfmt: str = ".4g") -> Path:
        """Save ``tables/<name>.csv``, ``.md`` and ``.tex`` (LaTeX) and show the table in the current section.

        NaN, infinite and missing cells are written empty in every format (never ``nan`` or ``inf``).
        """
        df = _finite_frame(df)
        out = self.child("tables", f"{name}.csv")
        markdown = to_markdown(df, floatfmt=floatfmt)
        latex = df.to_latex(float_format=lambda v: format(v, floatfmt), na_rep="", caption=caption or None)
        atomic_write(out, df.to_csv)
        atomic_write(self.child("tables", f"{name}.md"), lambda tmp: tmp.write_text(markdown))
        atomic_write(self.child("tables", f"{name}.tex"), lambda tmp: tmp.write_text(latex))
        html = df.to_html(float_format=lambda v: format(v, floatfmt), border=0, classes="table", na_rep="")
        self._current().tables.append((caption or name, html))
        return out

    def save_json(self, name: str, obj: Any) -> Path:
        """Write ``obj`` to ``<run directory>/<name>`` as strict JSON: NaN and infinite numbers become ``null``."""
        out = self.child(name)
        text = _dumps(_strict(obj))
        return atomic_write(out, lambda tmp: tmp.write_text(text))

    def finish(self, *, config: dict[str, Any], metrics: dict[str, Any],
               manifest: dict[str, Any] | None = None) -> Path:
        """Write ``config.json``, ``metrics.json``, ``manifest.json`` and ``report.html``; return the report path.

        ``metrics.json`` is strict JSON: a NaN or infinite metric (not defined for this run, e.g. a standard
        deviation over one seed) is written as ``null`` and its key path (``"a/b/0"``) is listed under the added
        top-level key ``"undefined"`` (reserved: ``metrics`` must not have it). The manifest's ``timings`` hold
        ``total_seconds`` (from ``started``, see the class) and ``write_seconds`` next to the study's own entries.
        """
        if "undefined" in metrics:
            raise ValueError("metrics has a key 'undefined'; it is reserved for the list of undefined metrics.")
        now = time.perf_counter()
        self.timings["total_seconds"] = now - self._t0
        self.timings["write_seconds"] = now - self._created
        full_manifest = _strict({**environment_info(), **(manifest or {}), "timings": self.timings,
                                 "total_seconds_from": "study start" if self._started_by_study
                                 else "run directory creation"})
        config = _strict(config)
        undefined: list[str] = []
        strict_metrics = _strict(metrics, undefined=undefined)
        strict_metrics["undefined"] = undefined
        atomic_write(self.child("config.json"), lambda tmp: tmp.write_text(_dumps(config)))
        atomic_write(self.child("metrics.json"), lambda tmp: tmp.write_text(_dumps(strict_metrics)))
        atomic_write(self.child("manifest.json"), lambda tmp: tmp.write_text(_dumps(full_manifest)))
        env = Environment(autoescape=select_autoescape(["html"]))
        template = env.from_string(resources.files("latentquant.reports").joinpath(
            "templates/report.html").read_text())
        html = template.render(
            title=self.title, sections=self._sections,
            config=_dumps(config), manifest=_dumps(full_manifest),
        )
        return atomic_write(self.path / "report.html", lambda tmp: tmp.write_text(html))

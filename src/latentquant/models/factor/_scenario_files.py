"""Writing scenario tables of a fitted :class:`~latentquant.models.VAEFactorModel` to a file, in bounded memory.

Up to :data:`SCENARIO_MEMORY_BUDGET` bytes (n × assets × 8) the scenarios are drawn in one piece; larger requests are
drawn and written in chunks of :data:`SCENARIO_CHUNK_BYTES` (Parquet row groups or CSV appends, chunk ``i`` seeded
from ``(seed, i)``), so memory stays bounded; above :data:`MAX_SCENARIOS` or :data:`MAX_SCENARIO_BYTES` the request
is refused before anything is drawn. The file is written atomically, and never holds a NaN or infinite value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentquant._io import atomic_write
from latentquant.exceptions import ConfigError, TrainingError

__all__ = ["MAX_SCENARIOS", "MAX_SCENARIO_BYTES", "SCENARIO_CHUNK_BYTES", "SCENARIO_MEMORY_BUDGET",
           "write_frame", "write_scenarios"]

#: ``factors scenarios`` draws tables up to this size (n × assets × 8 bytes) in one piece, as it always has.
SCENARIO_MEMORY_BUDGET = 2 * 2**30
#: Larger tables are drawn and written in chunks of about this size.
SCENARIO_CHUNK_BYTES = 256 * 2**20
#: The most scenarios one command writes (the equal-weight summary keeps one number per scenario).
MAX_SCENARIOS = 50_000_000
#: The largest scenario table one command writes.
MAX_SCENARIO_BYTES = 64 * 2**30


def scenario_chunk_rows(n: int, n_assets: int, mode: str) -> int | None:
    """Rows per chunk for ``-n n`` scenarios of ``n_assets`` assets, None to draw them in one piece; a request above
    the caps (or an interpolation path above the memory budget) is a ConfigError, before anything is drawn."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or n_assets < 1:
        return None  # generate_scenarios reports a bad -n
    row_bytes = 8 * n_assets
    size = n * row_bytes
    max_n = min(MAX_SCENARIOS, MAX_SCENARIO_BYTES // row_bytes)
    if n > max_n:
        raise ConfigError(
            f"-n {n} is above the maximum of {max_n} scenarios for this model's {n_assets} assets ({size / 2**30:.1f} "
            f"GiB; the limits are {MAX_SCENARIOS} scenarios and {MAX_SCENARIO_BYTES / 2**30:g} GiB); use -n {max_n} "
            "or less, and run the command again with another --seed for more."
        )
    if size <= SCENARIO_MEMORY_BUDGET:
        return None
    if mode == "interpolate":
        max_steps = SCENARIO_MEMORY_BUDGET // row_bytes
        raise ConfigError(
            f"-n {n} interpolation steps × {n_assets} assets need {size / 2**30:.1f} GiB, above the "
            f"{SCENARIO_MEMORY_BUDGET / 2**30:g} GiB memory budget; use -n {max_steps} or less (a path needs far "
            "fewer steps)."
        )
    return max(1, SCENARIO_CHUNK_BYTES // row_bytes)


def _write_in_chunks(fm: Any, n: int, chunk_rows: int, mode: str, seed: int, options: dict[str, Any],
                               out: Path) -> Any:
    """Draw ``n`` scenarios ``chunk_rows`` at a time (chunk ``i`` seeded from ``(seed, i)``) and append each chunk to
    ``out`` (a Parquet row group or CSV rows), atomically; returns the equal-weight portfolio's returns."""
    ew_parts: list[Any] = []

    def write(tmp: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer: Any = None
        try:
            for i, first in enumerate(range(0, n, chunk_rows)):
                rows = min(chunk_rows, n - first)
                chunk_seed = int(np.random.SeedSequence([seed, i]).generate_state(1, np.uint64)[0])
                part = fm.generate_scenarios(rows, mode, seed=chunk_seed, **options)
                part.index = pd.RangeIndex(first, first + rows, name="scenario")
                check_finite_scenarios(part, out)
                ew_parts.append(part.mean(axis=1).to_numpy())
                if out.suffix == ".parquet":
                    table = pa.Table.from_pandas(part, preserve_index=True)
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table)
                else:
                    part.to_csv(tmp, mode="a" if first else "w", header=first == 0)
        finally:
            if writer is not None:
                writer.close()

    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, write)
    return pd.Series(np.concatenate(ew_parts))


def check_finite_scenarios(scen: Any, out: Path) -> None:
    """Refuse to write scenarios holding NaN or infinity (a decoder overflow): nothing is written."""
    bad = ~np.isfinite(scen.to_numpy(dtype=float))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise TrainingError(
            f"the scenarios hold {int(bad.sum())} NaN/infinite values (first: scenario {scen.index[row]}, asset "
            f"{scen.columns[col]!r}); nothing was written to {out}. The model's decoder overflows here: use "
            "smaller --fix values or a shorter --stress-period, or refit the model."
        )


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to a ``.parquet`` or ``.csv`` file atomically (a kill or a full disk leaves no partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        atomic_write(path, frame.to_parquet)
    else:
        atomic_write(path, frame.to_csv)


def write_scenarios(model: Any, n: int, out: Path, mode: str = "prior", *, seed: int = 0,
                    options: dict[str, Any] | None = None) -> tuple[pd.Series, tuple[int, int]]:
    """Draw ``n`` scenarios of ``mode`` from ``model`` and write them to ``out`` (``.parquet`` or ``.csv``).

    Parameters
    ----------
    model : VAEFactorModel
        A fitted model.
    n : int
        Scenarios (steps for ``mode='interpolate'``).
    out : pathlib.Path
        The file; written atomically.
    mode : str, default "prior"
        See :meth:`~latentquant.models.VAEFactorModel.generate_scenarios`.
    seed : int, default 0
        Same seed, same scenarios (chunked draws are seeded from ``(seed, chunk)``).
    options : dict, optional
        Further keyword arguments of ``generate_scenarios``.

    Returns
    -------
    ew : pandas.Series
        The equal-weight portfolio's return in each scenario.
    shape : tuple of int
        (rows, assets) written.

    Raises
    ------
    ConfigError
        ``n`` above the limits (checked before anything is drawn).
    TrainingError
        The decoder produced a NaN or infinite value; nothing is written.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from latentquant.models import VAEFactorModel
    >>> rng = np.random.default_rng(0)
    >>> returns = pd.DataFrame(rng.normal(0, 0.01, (300, 6)), index=pd.bdate_range("2020-01-01", periods=300),
    ...                        columns=list("ABCDEF"))
    >>> model = VAEFactorModel(n_factors=2, epochs=3, input="log_returns", verbose=False).fit(returns)
    >>> ew, shape = write_scenarios(model, 100, Path(tempfile.mkdtemp()) / "s.parquet", seed=1)
    >>> shape, len(ew)
    ((100, 6), 100)
    """
    options = dict(options or {})
    chunk_rows = scenario_chunk_rows(n, len(model.columns_), mode)
    if chunk_rows is None:
        scen = model.generate_scenarios(n, mode, seed=seed, **options)
        check_finite_scenarios(scen, out)
        write_frame(scen, out)
        return scen.mean(axis=1), scen.shape
    return _write_in_chunks(model, n, chunk_rows, mode, seed, options, out), (n, len(model.columns_))

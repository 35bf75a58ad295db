"""Persistence of latentquant estimators: JSON + arrays + weights, no pickle.

:func:`save_estimator` (what :meth:`BaseModel.save <latentquant.base.BaseModel.save>` calls) writes a directory::

    estimator.json   class, hyperparameters, learned state (numbers, strings, labels), versions
    arrays.npz       every numeric array of the state (read back with ``allow_pickle=False``)
    weights.pt       the ``state_dict`` of every torch network of the state (read with ``weights_only=True``)

and :func:`load_estimator` rebuilds the estimator from it. Values of the fitted state are encoded by a small codec
(Python, numpy, pandas and torch values; more with :func:`register_codec`); nested estimators are saved the same way,
recursively. Only classes defined in latentquant, which register themselves here when they subclass
:class:`~latentquant.base.BaseModel`, can be named by a file. Everything here is re-exported by
:mod:`latentquant.base`, the public home of these names.
"""

from __future__ import annotations

import importlib
import json
import math
import platform
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from latentquant._io import atomic_write
from latentquant.exceptions import CheckpointError

if TYPE_CHECKING:
    from latentquant.base import BaseModel

__all__ = ["load_estimator", "register_codec", "save_estimator"]

ESTIMATOR_FILE = "estimator.json"
ARRAYS_FILE = "arrays.npz"
WEIGHTS_FILE = "weights.pt"
FORMAT_VERSION = 1

_CLASSES: dict[str, type[BaseModel]] = {}
T = TypeVar("T", bound="BaseModel")


def _class_key(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


# ----------------------------------------------------------------------------------------------------------------------
# codec: Python / numpy / pandas / torch values ↔ JSON + arrays + tensors
# ----------------------------------------------------------------------------------------------------------------------
_CODECS: dict[str, tuple[type, Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = {}


def register_codec(name: str, kind: type, encode: Callable[[Any, Any], Any],
                   decode: Callable[[Any, Any], Any]) -> None:
    """Teach persistence a value type of the fitted state (a small result class, a named tuple, ...).

    Parameters
    ----------
    name : str
        Unique tag written to ``estimator.json`` for values of this type (registering a name again replaces it).
    kind : type
        The value type; ``isinstance(value, kind)`` selects this codec when saving.
    encode : callable
        ``encode(value, enc)`` returns something the encoder accepts (JSON scalars, lists, dicts, arrays, pandas
        objects); call ``enc.encode(part)`` to nest.
    decode : callable
        ``decode(data, dec)`` rebuilds the value from what ``encode`` returned; call ``dec.decode(part)`` to nest.

    Examples
    --------
    >>> import tempfile
    >>> from fractions import Fraction
    >>> import pandas as pd
    >>> from latentquant.data import Standardizer
    >>> register_codec("fractions.Fraction", Fraction, lambda v, enc: [v.numerator, v.denominator],
    ...                lambda data, dec: Fraction(*data))
    >>> model = Standardizer().fit(pd.DataFrame({"A": [1.0, 2.0, 3.0]}))
    >>> model.shrinkage_ = Fraction(1, 3)  # a fitted attribute of the new type
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(Standardizer.load(model.save(tmp)).shrinkage_)
    1/3
    """
    _CODECS[name] = (kind, encode, decode)


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.tensors: dict[str, Any] = {}

    def _array(self, arr: np.ndarray) -> dict[str, Any]:
        if arr.dtype.kind in "biufc?":
            key = f"a{len(self.arrays)}"
            self.arrays[key] = np.ascontiguousarray(arr)
            return {"__array__": key}
        if arr.dtype.kind == "M":
            return {"__datetime64__": self._array(arr.astype("datetime64[ns]").view(np.int64))}
        if arr.dtype.kind in "OUS":
            return {"__objects__": [self.encode(v) for v in arr.ravel().tolist()], "shape": list(arr.shape)}
        raise CheckpointError(f"cannot save an array of dtype {arr.dtype}")

    def _index(self, index: pd.Index) -> dict[str, Any]:
        if isinstance(index, pd.MultiIndex):
            return {"__multiindex__": [self._index(level) for level in index.levels],
                    "codes": [self._array(np.asarray(c)) for c in index.codes], "names": list(index.names)}
        out: dict[str, Any] = {"name": self.encode(index.name)}
        if isinstance(index, pd.DatetimeIndex):
            # stored as nanoseconds; the unit (pandas 3 defaults to microseconds) is restored on load
            naive = index.tz_localize(None) if index.tz else index
            out["__datetimeindex__"] = self._array(naive.as_unit("ns").asi8)
            out["unit"] = str(index.unit)
            out["tz"] = str(index.tz) if index.tz else None
            out["freq"] = index.freqstr
            return out
        if isinstance(index, pd.RangeIndex):
            out["__rangeindex__"] = [index.start, index.stop, index.step]
            return out
        out["__index__"] = self._array(index.to_numpy())
        out["dtype"] = str(index.dtype)
        return out

    def encode(self, value: Any) -> Any:
        import torch
        from torch import nn

        from latentquant.base import BaseModel  # here, not at the top: base imports this module

        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, int | np.integer):
            return int(value)
        if isinstance(value, float | np.floating):
            v = float(value)
            return v if math.isfinite(v) else {"__float__": repr(v)}
        if isinstance(value, BaseModel):
            return {"__estimator__": _class_key(type(value)),
                    "params": self.encode(value.get_params(deep=False)),
                    "state": self.encode(value._persisted_state())}
        for name, (kind, enc, _) in _CODECS.items():
            if type(value) is kind:
                return {"__codec__": name, "data": enc(value, self)}
        if isinstance(value, np.ndarray):
            return self._array(value)
        if isinstance(value, pd.Timestamp):
            return {"__timestamp__": value.isoformat()}
        if isinstance(value, pd.Index):
            return self._index(value)
        if isinstance(value, pd.Series):
            return {"__series__": self._array(value.to_numpy()), "index": self._index(value.index),
                    "name": self.encode(value.name), "dtype": str(value.dtype)}
        if isinstance(value, pd.DataFrame):
            return {"__frame__": [self.encode(value.iloc[:, j]) for j in range(value.shape[1])],
                    "columns": self._index(value.columns), "index": self._index(value.index)}
        if isinstance(value, nn.Module):
            from latentquant.training.checkpoint import module_config

            key = f"m{len(self.tensors)}"
            self.tensors[key] = {k: v.detach().cpu() for k, v in value.state_dict().items()}
            cls_name, config = module_config(value)
            return {"__module__": cls_name, "config": self.encode(config), "weights": key,
                    "training": bool(value.training)}
        if isinstance(value, torch.Tensor):
            return self._array(value.detach().cpu().numpy())
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, Mapping):
            return {"__dict__": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if isinstance(value, Path):
            return {"__path__": str(value)}
        raise CheckpointError(
            f"cannot save a value of type {type(value).__name__}; register it with latentquant.base.register_codec."
        )


class _Decoder:
    def __init__(self, arrays: Mapping[str, np.ndarray], tensors: Mapping[str, Any]) -> None:
        self.arrays = arrays
        self.tensors = tensors

    def _array(self, data: dict[str, Any]) -> np.ndarray:
        if "__array__" in data:
            return np.array(self.arrays[data["__array__"]])
        if "__datetime64__" in data:
            return self._array(data["__datetime64__"]).view("datetime64[ns]")
        items = [self.decode(v) for v in data["__objects__"]]
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out.reshape(data["shape"])

    def _index(self, data: dict[str, Any]) -> pd.Index:
        if "__multiindex__" in data:
            levels: list[Any] = [self._index(level) for level in data["__multiindex__"]]
            codes: list[Any] = [self._array(c) for c in data["codes"]]
            return pd.MultiIndex(levels=levels, codes=codes, names=data["names"])
        name = self.decode(data["name"])
        if "__datetimeindex__" in data:
            idx = pd.DatetimeIndex(self._array(data["__datetimeindex__"]).view("datetime64[ns]"), name=name)
            if data["tz"]:
                idx = idx.tz_localize("UTC").tz_convert(data["tz"]) if data["tz"] == "UTC" else \
                    idx.tz_localize(data["tz"])
            if data.get("unit"):
                idx = idx.as_unit(data["unit"])
            if data.get("freq"):
                idx = pd.DatetimeIndex(idx, freq=data["freq"])
            return idx
        if "__rangeindex__" in data:
            start, stop, step = data["__rangeindex__"]
            return pd.RangeIndex(start, stop, step, name=name)
        values = self._array(data["__index__"])
        return pd.Index(values, name=name, dtype=data.get("dtype") if data.get("dtype") != "object" else object)

    def decode(self, data: Any) -> Any:
        if isinstance(data, list):
            return [self.decode(v) for v in data]
        if not isinstance(data, dict):
            return data
        if "__float__" in data:
            return float(data["__float__"])
        if "__tuple__" in data:
            return tuple(self.decode(v) for v in data["__tuple__"])
        if "__dict__" in data:
            return {self.decode(k): self.decode(v) for k, v in data["__dict__"]}
        if "__array__" in data or "__datetime64__" in data or "__objects__" in data:
            return self._array(data)
        if "__timestamp__" in data:
            return pd.Timestamp(data["__timestamp__"])
        if "__path__" in data:
            return Path(data["__path__"])
        if any(k in data for k in ("__multiindex__", "__datetimeindex__", "__rangeindex__", "__index__")):
            return self._index(data)
        if "__series__" in data:
            values = self._array(data["__series__"])
            return pd.Series(values, index=self._index(data["index"]), name=self.decode(data["name"]),
                             dtype=data["dtype"] if data["dtype"] != "object" else object)
        if "__frame__" in data:
            columns = [self.decode(c) for c in data["__frame__"]]
            frame = pd.concat(columns, axis=1) if columns else pd.DataFrame(index=self._index(data["index"]))
            frame.columns = self._index(data["columns"])
            frame.index = self._index(data["index"])
            return frame
        if "__codec__" in data:
            if data["__codec__"] not in _CODECS:
                raise CheckpointError(f"unknown value type {data['__codec__']!r} in the saved state")
            return _CODECS[data["__codec__"]][2](data["data"], self)
        if "__module__" in data:
            from latentquant.training.checkpoint import build_module

            module = build_module(data["__module__"], self.decode(data["config"]))
            module.load_state_dict(self.tensors[data["weights"]])
            module.train(data.get("training", False))
            return module
        if "__estimator__" in data:
            cls = _resolve_class(data["__estimator__"])
            est = cls(**self.decode(data["params"]))
            est._restore_state(self.decode(data["state"]))
            return est
        raise CheckpointError(f"unreadable value in the saved state (keys {sorted(data)[:4]})")


def _resolve_class(key: str) -> type[BaseModel]:
    if key not in _CLASSES:
        module = key.split(":", 1)[0]
        if module == "latentquant" or module.startswith("latentquant."):
            try:
                importlib.import_module(module)
            except ImportError:
                pass
    if key not in _CLASSES:
        raise CheckpointError(f"the saved estimator class {key!r} is not a latentquant estimator")
    return _CLASSES[key]


def save_estimator(estimator: BaseModel, path: str | Path) -> Path:
    """Write ``estimator`` (hyperparameters + fitted state) to directory ``path``; see the module docstring.

    :meth:`BaseModel.save` calls this. Each file is written to a temporary name and renamed, ``estimator.json``
    last, so an interrupted save never leaves a directory that loads.

    Parameters
    ----------
    estimator : BaseModel
        The estimator to save, fitted or not.
    path : str or pathlib.Path
        Directory to write (created if missing; the three files in it are replaced).

    Returns
    -------
    pathlib.Path
        The directory, holding ``estimator.json``, ``arrays.npz`` and ``weights.pt``.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from latentquant.data import Standardizer
    >>> model = Standardizer().fit(pd.DataFrame({"A": [1.0, 2.0, 3.0]}))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(sorted(f.name for f in save_estimator(model, tmp).iterdir()))
    ['arrays.npz', 'estimator.json', 'weights.pt']
    """
    import torch

    from latentquant import __version__

    enc = _Encoder()
    doc = {
        "format_version": FORMAT_VERSION,
        "class": _class_key(type(estimator)),
        "params": enc.encode(estimator.get_params(deep=False)),
        "state": enc.encode(estimator._persisted_state()),
        "versions": {"latentquant": __version__, "torch": torch.__version__, "numpy": np.__version__,
                     "pandas": pd.__version__, "python": platform.python_version()},
    }
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)

    def write_arrays(p: Path) -> None:
        with open(p, "wb") as fh:
            np.savez(fh, **enc.arrays)  # type: ignore[arg-type]

    atomic_write(directory / ARRAYS_FILE, write_arrays)
    atomic_write(directory / WEIGHTS_FILE, lambda p: torch.save(enc.tensors, p))
    # the JSON file last: a directory without it is not a (complete) saved estimator
    text = json.dumps(doc, indent=1, sort_keys=True)
    atomic_write(directory / ESTIMATOR_FILE, lambda p: p.write_text(text))
    return directory


def load_estimator(path: str | Path, *, expected: type[T] | None = None) -> T:
    """Rebuild an estimator written by :func:`save_estimator` (no pickle: arrays with ``allow_pickle=False``,
    tensors with ``weights_only=True``).

    Parameters
    ----------
    path : str or pathlib.Path
        Directory written by :func:`save_estimator` (or ``model.save``).
    expected : type, optional
        Require the saved estimator to be an instance of this class (what ``Cls.load`` passes); another class is a
        :class:`~latentquant.exceptions.CheckpointError`.

    Returns
    -------
    BaseModel
        The estimator with the saved hyperparameters and fitted state.

    Raises
    ------
    CheckpointError
        The directory is incomplete, corrupted, names a class outside latentquant, or holds another class than
        ``expected``.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from latentquant.data import Standardizer
    >>> model = Standardizer(ddof=0).fit(pd.DataFrame({"A": [1.0, 3.0]}))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     loaded = load_estimator(save_estimator(model, tmp), expected=Standardizer)
    >>> loaded.ddof, loaded.mean_.tolist(), loaded.scale_.tolist()
    (0, [2.0], [1.0])
    """
    import torch

    directory = Path(path)
    doc_path = directory / ESTIMATOR_FILE
    if not doc_path.is_file():
        raise CheckpointError(f"{doc_path} is missing; pass the directory written by model.save(path).")
    try:
        doc = json.loads(doc_path.read_text())
        key = doc["class"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{doc_path} is corrupted or not a saved latentquant estimator ({exc}).") from exc
    cls = _resolve_class(key)
    if expected is not None and not issubclass(cls, expected):
        raise CheckpointError(f"{directory} holds a {cls.__name__}, not a {expected.__name__}; use "
                              f"{cls.__name__}.load().")
    try:
        with np.load(directory / ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        tensors = torch.load(directory / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        dec = _Decoder(arrays, tensors)
        est = cls(**dec.decode(doc["params"]))
        est._restore_state(dec.decode(doc["state"]))
    except CheckpointError:
        raise
    except Exception as exc:  # any failure to rebuild is a bad checkpoint, reported with its cause
        raise CheckpointError(f"{directory} could not be loaded as a {cls.__name__} "
                              f"({type(exc).__name__}: {exc}).") from exc
    return est  # type: ignore[return-value]

"""Exact JSON encoding of task results (numbers, arrays, pandas objects), with no pickle.

Used by :mod:`latentquant.executors` to store each finished task; :func:`encode_result` and :func:`decode_result`
are re-exported there.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["decode_result", "encode_result"]



_MARKERS = frozenset({"__float__", "__tuple__", "__dict__", "__ndarray__", "__npscalar__", "__frame__",
                      "__series__", "__index__", "__timestamp__", "__nat__"})


def _enc_float(x: float) -> float | str:
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


_NON_FINITE = frozenset({"nan", "inf", "-inf"})


def _dec_float(value: str) -> float:
    if value not in _NON_FINITE:  # finite floats are stored as plain JSON numbers
        raise ValueError(f"invalid stored float {value!r}")
    return float(value)


def _dec_floats(values: list[Any], dtype: np.dtype[Any]) -> np.ndarray:
    return np.array([_dec_float(v) if isinstance(v, str) else v for v in values], dtype=dtype)


def _datetime_unit(dtype: Any) -> str:
    return str(dtype.unit) if isinstance(dtype, pd.DatetimeTZDtype) else np.datetime_data(dtype)[0]


def _encode_array(values: Any, dtype: Any, path: str) -> dict[str, Any]:
    """Encode the 1-d values of an Index, a Series or a DataFrame column as ``{"dtype", "values"}``."""
    data: list[Any]
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        idx = pd.DatetimeIndex(values)
        if idx.tz is not None:
            idx = idx.tz_convert(None)  # wall times in UTC; the time zone is in the dtype
        data = [None if ts is pd.NaT else ts.isoformat() for ts in idx]
    elif isinstance(dtype, pd.StringDtype):
        data = [None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else str(v)
                for v in values]
    elif isinstance(dtype, np.dtype) and dtype.kind == "f":
        data = [_enc_float(v) for v in np.asarray(values).tolist()]
    elif isinstance(dtype, np.dtype) and dtype.kind in "iubU":
        data = np.asarray(values).tolist()
    elif isinstance(dtype, np.dtype) and dtype.kind == "O":
        data = [encode_value(v, f"{path}[{i}]") for i, v in enumerate(values)]
    else:
        raise TypeError(f"cannot store values of dtype {dtype} at {path}: convert them to float, int, bool, str or "
                        "datetime64 first")
    return {"dtype": str(dtype), "values": data}


def _decode_array(enc: dict[str, Any]) -> Any:
    """Inverse of :func:`_encode_array`: a numpy array or a pandas extension array."""
    dtype = pd.api.types.pandas_dtype(enc["dtype"])
    values = enc["values"]
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        idx = pd.DatetimeIndex(pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601"))
        if isinstance(dtype, pd.DatetimeTZDtype):
            idx = idx.tz_localize("UTC").tz_convert(dtype.tz)
        return idx.as_unit(_datetime_unit(dtype)).array  # type: ignore[arg-type]
    if isinstance(dtype, pd.StringDtype):
        return pd.array(values, dtype=dtype)
    if not isinstance(dtype, np.dtype):
        raise TypeError(f"unsupported stored dtype {enc['dtype']!r}")
    if dtype.kind == "f":
        return _dec_floats(values, dtype)
    if dtype.kind == "O":
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            out[i] = decode_value(v)
        return out
    return np.array(values, dtype=dtype)


def _encode_index(idx: pd.Index, path: str) -> dict[str, Any]:
    if isinstance(idx, pd.MultiIndex):
        return {"kind": "multi", "names": [encode_value(n, path) for n in idx.names],
                "levels": [_encode_index(level, f"{path}.levels[{i}]") for i, level in enumerate(idx.levels)],
                "codes": [np.asarray(c).tolist() for c in idx.codes]}
    if isinstance(idx, pd.RangeIndex):
        return {"kind": "range", "name": encode_value(idx.name, path), "start": idx.start, "stop": idx.stop,
                "step": idx.step}
    out = {"kind": "base", "name": encode_value(idx.name, path), **_encode_array(idx.array, idx.dtype, path)}
    if isinstance(idx, pd.DatetimeIndex):
        out["freq"] = idx.freqstr
    return out


def _decode_index(enc: dict[str, Any]) -> pd.Index:
    kind = enc["kind"]
    if kind == "multi":
        levels: list[Any] = [_decode_index(level) for level in enc["levels"]]
        return pd.MultiIndex(levels=levels, codes=enc["codes"],
                             names=[decode_value(n) for n in enc["names"]])
    if kind == "range":
        return pd.RangeIndex(enc["start"], enc["stop"], enc["step"], name=decode_value(enc["name"]))
    values = _decode_array(enc)
    name = decode_value(enc["name"])
    if "freq" in enc:
        return pd.DatetimeIndex(values, freq=enc["freq"], name=name)
    dtype = object if isinstance(values, np.ndarray) and values.dtype == object else None
    return pd.Index(values, name=name, dtype=dtype, tupleize_cols=False)


def encode_value(obj: Any, path: str = "result") -> Any:
    """Encode ``obj`` as JSON-compatible data (the types listed in :mod:`latentquant.executors`)."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int) and not isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float) and not isinstance(obj, np.floating):
        value = _enc_float(float(obj))
        return value if isinstance(value, float) else {"__float__": value}
    if isinstance(obj, (np.bool_, np.integer, np.floating)):
        value = obj.item()
        return {"__npscalar__": {"dtype": str(obj.dtype),
                                 "value": _enc_float(value) if isinstance(value, float) else value}}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "fiubUO":
            raise TypeError(f"cannot store a numpy array of dtype {obj.dtype} at {path}")
        flat = obj.ravel(order="C")
        return {"__ndarray__": {"shape": list(obj.shape), **_encode_array(flat, obj.dtype, path)}}
    if isinstance(obj, pd.DataFrame):
        columns = [_encode_array(obj.iloc[:, j].array, obj.dtypes.iloc[j], f"{path}.iloc[:, {j}]")
                   for j in range(obj.shape[1])]
        return {"__frame__": {"index": _encode_index(obj.index, f"{path}.index"),
                              "columns": _encode_index(obj.columns, f"{path}.columns"), "data": columns}}
    if isinstance(obj, pd.Series):
        return {"__series__": {"name": encode_value(obj.name, f"{path}.name"),
                               "index": _encode_index(obj.index, f"{path}.index"),
                               **_encode_array(obj.array, obj.dtype, path)}}
    if isinstance(obj, pd.Index):
        return {"__index__": _encode_index(obj, path)}
    if obj is pd.NaT:
        return {"__nat__": None}
    if isinstance(obj, pd.Timestamp):
        return {"__timestamp__": {"iso": obj.isoformat(), "tz": None if obj.tz is None else str(obj.tz),
                                  "unit": obj.unit}}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode_value(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [encode_value(v, f"{path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and not (len(obj) == 1 and next(iter(obj)) in _MARKERS):
            return {k: encode_value(v, f"{path}[{k!r}]") for k, v in obj.items()}
        return {"__dict__": [[encode_value(k, f"{path}.keys()"), encode_value(v, f"{path}[{k!r}]")]
                             for k, v in obj.items()]}
    raise TypeError(f"cannot store a {type(obj).__module__}.{type(obj).__qualname__} at {path}: task results must be "
                    "made of numbers, strings, lists, tuples, dicts, numpy arrays and pandas objects")


def decode_value(obj: Any) -> Any:
    """The inverse of :func:`encode_value`."""
    if isinstance(obj, list):
        return [decode_value(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        marker, payload = next(iter(obj.items()))
        if marker == "__float__":
            return _dec_float(payload)
        if marker == "__npscalar__":
            value = payload["value"]
            return np.dtype(payload["dtype"]).type(_dec_float(value) if isinstance(value, str) else value)
        if marker == "__ndarray__":
            return np.asarray(_decode_array(payload)).reshape(payload["shape"])
        if marker == "__frame__":
            index = _decode_index(payload["index"])
            columns = [_decode_array(col) for col in payload["data"]]
            frame = pd.DataFrame(dict(enumerate(columns)), index=index)
            for j, values in enumerate(columns):
                if isinstance(values, np.ndarray) and values.dtype == object:
                    # pandas may infer a string dtype from an object array: keep the stored object dtype
                    frame[j] = pd.Series(values, index=frame.index, dtype=object)  # labels are 0..n-1 here
            frame.columns = _decode_index(payload["columns"])
            return frame
        if marker == "__series__":
            values = _decode_array(payload)
            return pd.Series(values, index=_decode_index(payload["index"]), name=decode_value(payload["name"]),
                             dtype=object if isinstance(values, np.ndarray) and values.dtype == object else None)
        if marker == "__index__":
            return _decode_index(payload)
        if marker == "__nat__":
            return pd.NaT
        if marker == "__timestamp__":
            ts = pd.Timestamp(payload["iso"])
            if payload["tz"] is not None:
                ts = ts.tz_convert(payload["tz"])
            return ts.as_unit(payload["unit"])
        if marker == "__tuple__":
            return tuple(decode_value(v) for v in payload)
        if marker == "__dict__":
            return {decode_value(k): decode_value(v) for k, v in payload}
    return {k: decode_value(v) for k, v in obj.items()}


def encode_result(obj: Any) -> str:
    """Serialise a task result to a JSON string that :func:`decode_result` reads back exactly.

    Parameters
    ----------
    obj : object
        Made of ``None``, bools, ints, floats (NaN and ±inf included), strings, lists, tuples, dicts, numpy arrays
        and scalars, pandas DataFrames, Series, Index/MultiIndex and Timestamps (see the module docstring).

    Returns
    -------
    str
        Strict JSON (no ``NaN`` literals): markers such as ``{"__frame__": ...}`` keep dtypes, index and names.

    Raises
    ------
    TypeError
        A value of another type; the message gives its path in ``obj`` (e.g. ``result['a'][2]``).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"r2": [0.25, float("nan")]}, index=pd.Index(["PCA", "IPCA"], name="model"))
    >>> text = encode_result({"table": frame, "k": 3})
    >>> back = decode_result(text)
    >>> back["table"].equals(frame), back["table"].index.name, back["k"]
    (True, 'model', 3)
    """
    return json.dumps(encode_value(obj), allow_nan=False, separators=(",", ":"))


def decode_result(text: str) -> Any:
    """Inverse of :func:`encode_result` (plain JSON parsing: nothing is unpickled or executed).

    Parameters
    ----------
    text : str
        A string written by :func:`encode_result`.

    Returns
    -------
    object
        The result, with the same values, dtypes, index, columns and names as the encoded one.

    Examples
    --------
    >>> import numpy as np
    >>> decode_result(encode_result((np.float32(1.5), [float("inf")])))
    (np.float32(1.5), [inf])
    """
    return decode_value(json.loads(text))

"""The result store of :mod:`latentquant.executors`: one JSON file per finished task, checked before it is reused.

A task's file ``<store>/<key>.json`` records the fingerprint of the task's key and keyword arguments and a sha256
content hash of its key, fingerprint and result; it is written atomically (temporary file, then
:func:`os.replace`). A file computed with other arguments, unreadable or corrupt is reported (with
:class:`~latentquant.executors.StoreWarning`) and its task recomputed, as is the task of an absent file. The format
and the guarantees are described in :mod:`latentquant.executors`, which re-exports these helpers.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from latentquant._result_codec import decode_value, encode_value

if TYPE_CHECKING:
    from latentquant.executors import Task

_FORMAT = "latentquant.executors.result/2"  # /2: with a content hash ("sha256"); /1 files are recomputed


def _canonical(obj: Any, memo: dict[int, str]) -> str:
    """A stable text for fingerprinting an argument (exact for storable values, ``repr`` for the others)."""
    heavy = isinstance(obj, (pd.DataFrame, pd.Series, pd.Index, np.ndarray))
    if heavy and id(obj) in memo:
        return memo[id(obj)]
    try:
        text = json.dumps(encode_value(obj), sort_keys=True, allow_nan=False)
    except TypeError:
        if isinstance(obj, dict):
            text = "{" + ",".join(f"{k!r}:{_canonical(v, memo)}" for k, v in obj.items()) + "}"
        elif isinstance(obj, (list, tuple)):
            text = type(obj).__name__ + "[" + ",".join(_canonical(v, memo) for v in obj) + "]"
        else:
            text = f"repr:{type(obj).__module__}.{type(obj).__qualname__}:{obj!r}"
    if heavy:
        text = hashlib.sha256(text.encode()).hexdigest()
        memo[id(obj)] = text
    return text


def _fingerprint(task: Task, memo: dict[int, str]) -> str:
    text = _canonical({"key": task.key, "kwargs": task.kwargs}, memo)
    return hashlib.sha256(text.encode()).hexdigest()


def _result_path(store: Path, key: str) -> Path:
    return store / f"{key}.json"


def _content_hash(key: Any, fingerprint: Any, encoded_result: Any) -> str:
    """sha256 of a record's key, fingerprint and encoded result (as parsed JSON: the same before and after a round
    trip through the file, since JSON floats are written with ``repr`` and read back exactly)."""
    text = json.dumps([key, fingerprint, encoded_result], allow_nan=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _save_result(store: Path, task: Task, result: Any, fingerprint: str) -> Path:
    """Write ``result`` to ``<store>/<task.key>.json`` atomically (temporary file, then ``os.replace``)."""
    encoded = encode_value(result, f"result of {task.key!r}")
    payload = {"format": _FORMAT, "key": task.key, "fingerprint": fingerprint,
               "fn": f"{getattr(task.fn, '__module__', '?')}:{getattr(task.fn, '__qualname__', repr(task.fn))}",
               "saved_at": pd.Timestamp.now(tz="UTC").isoformat(),
               "sha256": _content_hash(task.key, fingerprint, encoded), "result": encoded}
    text = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    path = _result_path(store, task.key)
    tmp = store / f".{task.key}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


_MISSING = object()


def _load_result(store: Path, task: Task, fingerprint: str) -> Any:
    """The stored result of ``task``, or ``_MISSING`` when absent or stale.

    A file computed with other arguments, unreadable, or whose content hash does not match (changed after it was
    written) is reported with a :class:`StoreWarning`. The hash is checked before anything is decoded; any error
    while parsing or decoding (``OverflowError`` and ``RecursionError`` from crafted values included) makes the file
    corrupt, never a crash.
    """
    from latentquant.executors import StoreWarning  # public, defined there; executors imports this module

    path = _result_path(store, task.key)
    if not path.is_file():
        return _MISSING
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT or payload.get("key") != task.key:
            raise ValueError(f"not a {_FORMAT} file for key {task.key!r}")
        stored_fp = payload["fingerprint"]
        if _content_hash(payload["key"], stored_fp, payload["result"]) != payload["sha256"]:
            warnings.warn(f"stored result {path} is corrupt: its content hash does not match (the file was changed "
                          f"after it was written); recomputing task {task.key!r}", StoreWarning, stacklevel=3)
            return _MISSING
        if stored_fp != fingerprint:
            warnings.warn(f"stored result {path} was computed with different arguments; recomputing task "
                          f"{task.key!r}", StoreWarning, stacklevel=3)
            return _MISSING
        result = decode_value(payload["result"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, ArithmeticError,
            RecursionError) as exc:
        # ArithmeticError covers OverflowError; ValueError covers JSON and Unicode decoding errors
        warnings.warn(f"stored result {path} is unreadable ({type(exc).__name__}: {exc}); recomputing task "
                      f"{task.key!r}", StoreWarning, stacklevel=3)
        return _MISSING
    return result


"""Run many independent fits concurrently and persist each finished one, so that an interrupted run resumes.

Used by the experiments: a grid of fits (models × hyperparameters × folds × seeds) is a list of :class:`Task`;
:func:`run_tasks` runs them and returns ``{key: result}`` in the order of the tasks.

Executors
---------
``"local"`` (default)
    A :class:`concurrent.futures.ProcessPoolExecutor` with ``n_jobs`` worker processes (default: the CPUs this
    process may use, which under ``taskset`` or in a container can be fewer than the machine's cores), started with
    the ``spawn`` method (safe with torch and threads). The task functions must be picklable, i.e. defined at module
    level; call :func:`run_tasks` from under ``if __name__ == "__main__":`` in scripts.

Threads
-------
Every task runs with ``threads`` threads in torch and BLAS (default 1, or ``LATENTQUANT_NUM_THREADS``), in every
executor: the parallelism is across tasks, never nested (processes × threads), and a task's numbers do not depend
on the machine's core count or on ``n_jobs``. Idle OpenMP threads of the workers sleep instead of spinning, so a
run degrades gracefully on a machine shared with other jobs.
``"serial"``
    A plain loop in the calling process (debugging, tests, tiny grids).
``"ray"``
    Ray remote functions. Ray is optional (``pip install ray``); ``ray.init()`` starts a local Ray instance, or
    ``ray.init(address=ray_address)`` joins a cluster (``ray_address="auto"`` or ``"ray://host:10001"``). An
    already initialised Ray session is reused as is. ``n_jobs`` caps the number of tasks in flight (default: all).
    Task functions must be importable on the Ray workers (an installed package, or a ``runtime_env``).

Store and resume
----------------
With ``store=<directory>`` every task's result is written to ``<store>/<key>.json`` as soon as the task finishes
(to a temporary file first, then :func:`os.replace`, so a file is either complete or absent). Running the same tasks
again with the same store loads those results instead of recomputing them, so a run that was interrupted (error,
Ctrl-C, node lost) only computes what is missing. Each file records a fingerprint of the task's key and keyword
arguments; a file whose fingerprint no longer matches (the arguments changed) is recomputed with a
:class:`StoreWarning`. Each file also records a sha256 content hash of its key, fingerprint and result: a file that
was changed after it was written (a tampered number, a truncated file), that cannot be parsed, or whose values fail
to decode (e.g. a crafted value raising ``OverflowError`` or ``RecursionError``) is treated as corrupt: a
:class:`StoreWarning` names the task, and the task is recomputed; a stored result is never used unchecked. (The hash
detects changes, it does not authenticate: whoever can write the store can also write a matching hash.) The
fingerprint does not cover the function's code: after changing the code of a task function, delete the store (or
use a new one) to recompute.

Stored results must be made of ``None``, ``bool``, ``int``, ``float`` (NaN and ±inf included), ``str``, lists,
tuples, dicts, numpy arrays (numeric, bool, str or object) and scalars, and pandas ``DataFrame``, ``Series``,
``Index``/``MultiIndex`` (numeric, bool, string, object or datetime values and labels; ``DatetimeIndex`` with its
frequency and time zone) and ``Timestamp``. They are stored as plain JSON (no pickle is ever loaded) and read back
exactly: same values, dtypes, index, columns and names.

Examples
--------
>>> import tempfile
>>> tasks = [Task("a", dict, {"n": 1}), Task("b", dict, {"n": 2})]
>>> run_tasks(tasks, executor="serial", store=tempfile.mkdtemp())
{'a': {'n': 1}, 'b': {'n': 2}}
"""

from __future__ import annotations

import multiprocessing
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path
from typing import Any

from latentquant._result_codec import decode_result, encode_result
from latentquant._result_codec import decode_value as decode_value
from latentquant._result_codec import encode_value as encode_value
from latentquant._task_store import _FORMAT as _FORMAT
from latentquant._task_store import _MISSING, _fingerprint, _load_result, _save_result
from latentquant._task_store import _canonical as _canonical
from latentquant._task_store import _content_hash as _content_hash
from latentquant._task_store import _result_path as _result_path
from latentquant._threads import available_cpus, fit_threads, limit_threads, set_process_threads
from latentquant.exceptions import ConfigError, LatentQuantError
from latentquant.validation import Interval, Options, check_arg

__all__ = [
    "StoreWarning",
    "Task",
    "TaskError",
    "decode_result",
    "encode_result",
    "run_tasks",
]
# the ``name as name`` imports above keep the store helpers that lived here before the split (into _task_store) and
# the codec's value functions importable from this module

ProgressCallback = Callable[[int, int, str], None]

def _init_worker(parent_pid: int, threads: int, interval: float = 1.0) -> None:
    """Worker initializer: ``threads`` threads per worker (so that workers × threads never exceed the CPUs they
    were given), and a daemon thread that ends the worker when the parent process is gone (killed rather than shut
    down), so that no orphaned worker keeps computing."""
    set_process_threads(threads)

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="latentquant-parent-watch").start()


_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=+-]{0,149}")
_RAY_MISSING = ("executor='ray' needs the optional package ray, which is not installed: install it with "
                "`pip install 'latentquant[ray]'` (or `pip install ray`), or use executor='local'")


class TaskError(LatentQuantError, RuntimeError):
    """A task raised; the original exception is the ``__cause__`` and the failing task's key is ``key``.

    With every executor the message reads ``task '<key>' failed: <ExceptionType>: <message>`` (Ray's wrapper of a
    remote exception is unwrapped), followed by where the finished results are stored when a store is used.

    Parameters
    ----------
    message : str
        The error message.
    key : str
        The key of the task that failed.

    Examples
    --------
    >>> def boom(x):
    ...     raise ValueError(f"bad x={x}")
    >>> try:
    ...     run_tasks([Task("fit-1", boom, {"x": 1})], executor="serial")
    ... except TaskError as err:
    ...     print(err.key, "|", err, "|", type(err.__cause__).__name__)
    fit-1 | task 'fit-1' failed: ValueError: bad x=1 | ValueError
    """

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


class StoreWarning(UserWarning):
    """A stored result was ignored (arguments changed, or the file is unreadable, corrupt or tampered with: its
    content hash does not match) and is being recomputed.

    Examples
    --------
    >>> import tempfile, warnings
    >>> store = tempfile.mkdtemp()
    >>> run_tasks([Task("a", dict, {"n": 1})], executor="serial", store=store)
    {'a': {'n': 1}}
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     run_tasks([Task("a", dict, {"n": 2})], executor="serial", store=store)  # same key, other arguments
    {'a': {'n': 2}}
    >>> [w.category.__name__ for w in caught]
    ['StoreWarning']
    """


@dataclass(frozen=True)
class Task:
    """One independent unit of work: ``fn(**kwargs)``, identified by ``key``.

    Parameters
    ----------
    key : str
        Names the result (and its file in the store): 1-150 characters among letters, digits and ``._=+-``,
        starting with a letter or digit.
    fn : callable
        The function to call. It must be a module-level function for the ``local`` and ``ray`` executors (it is
        pickled to the workers).
    kwargs : dict, optional
        Keyword arguments of ``fn`` (str keys). They are part of the task's fingerprint in a store.

    Raises
    ------
    ConfigError
        An invalid key, a non-callable ``fn`` or ``kwargs`` that are not a dict with str keys.

    Examples
    --------
    >>> task = Task("w2014-IPCA-K3", dict, {"model": "IPCA", "k": 3})
    >>> task.fn(**task.kwargs)
    {'model': 'IPCA', 'k': 3}
    >>> Task("a/b", dict)
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: Task key 'a/b' is not a valid key: use 1-150 characters among letters, \
digits and '._=+-', starting with a letter or digit (the key is used as a file name)
    """

    key: str
    fn: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY_RE.fullmatch(self.key):
            raise ConfigError(
                f"Task key {self.key!r} is not a valid key: use 1-150 characters among letters, digits and "
                "'._=+-', starting with a letter or digit (the key is used as a file name)")
        if not callable(self.fn):
            raise ConfigError(f"Task {self.key!r}: fn must be callable, got {type(self.fn).__name__}")
        if not isinstance(self.kwargs, dict) or not all(isinstance(k, str) for k in self.kwargs):
            raise ConfigError(f"Task {self.key!r}: kwargs must be a dict with str keys, got "
                              f"{type(self.kwargs).__name__}")


def _call(fn: Callable[..., Any], kwargs: dict[str, Any], threads: int | None = None) -> Any:
    """Run one task (module level so that the process pool and ray can pickle it); with ``threads``, first set the
    worker process's thread count (Ray workers have no initializer)."""
    if threads is not None:
        set_process_threads(threads)
    return fn(**kwargs)


# ----------------------------------------------------------------------------------------------------------------
# Running


def _check_tasks(tasks: Iterable[Task]) -> list[Task]:
    tasks = list(tasks)
    seen: dict[str, str] = {}
    for task in tasks:
        if not isinstance(task, Task):
            raise ConfigError(f"run_tasks expects Task objects, got {type(task).__name__}")
        folded = task.key.casefold()
        if folded in seen:
            same = seen[folded] == task.key
            raise ConfigError(
                f"duplicate task key {task.key!r}" if same else
                f"task keys {seen[folded]!r} and {task.key!r} differ only by case (they would share a file on "
                "case-insensitive file systems)")
        seen[folded] = task.key
    return tasks


def _check_picklable_fn(task: Task, executor: str) -> None:
    qualname = getattr(task.fn, "__qualname__", "")
    if "<" in qualname:  # <lambda>, <locals>
        raise ConfigError(f"task {task.key!r}: executor={executor!r} needs a module-level function, got "
                          f"{qualname!r}; define it at module level or use executor='serial'")


def _failure(key: str, exc: BaseException, others: Sequence[str], store: Path | None) -> TaskError:
    msg = f"task {key!r} failed: {type(exc).__name__}: {exc}"
    if others:
        msg += f" (also failed: {', '.join(repr(k) for k in others)})"
    if store is not None:
        msg += f"; finished tasks are saved in {store}, run again with the same store to resume"
    return TaskError(msg, key)


class _Runner:
    """Bookkeeping shared by the executors: results, persistence and progress."""

    def __init__(self, total: int, store: Path | None, progress: ProgressCallback | None,
                 fingerprints: dict[str, str]) -> None:
        self.total = total
        self.store = store
        self.progress = progress
        self.fingerprints = fingerprints
        self.results: dict[str, Any] = {}

    def finish(self, task: Task, result: Any, *, save: bool = True) -> None:
        if save and self.store is not None:
            _save_result(self.store, task, result, self.fingerprints[task.key])
        self.results[task.key] = result
        if self.progress is not None:
            self.progress(len(self.results), self.total, task.key)


def _run_serial(pending: list[Task], runner: _Runner, threads: int) -> None:
    for task in pending:
        try:
            with limit_threads(threads):
                result = _call(task.fn, task.kwargs)
            runner.finish(task, result)
        except Exception as exc:
            raise _failure(task.key, exc, [], runner.store) from exc


def _run_local(pending: list[Task], runner: _Runner, n_jobs: int, threads: int) -> None:
    for task in pending:
        _check_picklable_fn(task, "local")
    failures: list[tuple[str, BaseException]] = []
    pool = ProcessPoolExecutor(max_workers=min(n_jobs, len(pending)), mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(os.getpid(), threads))
    try:
        order = {t.key: i for i, t in enumerate(pending)}
        futures: dict[Future[Any], Task] = {pool.submit(_call, t.fn, t.kwargs): t for t in pending}
        not_done: set[Future[Any]] = set(futures)
        while not_done:
            done, not_done = wait(not_done, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: order[futures[f].key]):
                task = futures[fut]
                if fut.cancelled():
                    continue
                try:
                    runner.finish(task, fut.result())
                except Exception as exc:
                    failures.append((task.key, exc))
                    # tasks not started yet are cancelled; running ones finish and are saved
                    for other in not_done:
                        other.cancel()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if failures:
        first_key, first_exc = failures[0]
        raise _failure(first_key, first_exc, [k for k, _ in failures[1:]], runner.store) from first_exc


def _run_ray(pending: list[Task], runner: _Runner, n_jobs: int | None, ray_address: str | None,
             threads: int) -> None:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(_RAY_MISSING) from exc
    for task in pending:
        _check_picklable_fn(task, "ray")
    if not ray.is_initialized():
        ray.init(address=ray_address)
    remote_call = ray.remote(_call)
    queue = list(pending)
    in_flight: dict[Any, Task] = {}
    limit = len(queue) if n_jobs is None else n_jobs
    try:
        while queue or in_flight:
            while queue and len(in_flight) < limit:
                task = queue.pop(0)
                in_flight[remote_call.remote(task.fn, task.kwargs, threads)] = task
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                task = in_flight.pop(ref)
                try:
                    runner.finish(task, ray.get(ref))
                except Exception as exc:
                    # Ray wraps the task's exception (message = the remote traceback with terminal colours): report
                    # the original one, as the local and serial executors do
                    cause = getattr(exc, "cause", None) if isinstance(exc, ray.exceptions.RayTaskError) else None
                    original = cause if isinstance(cause, Exception) else exc
                    raise _failure(task.key, original, [], runner.store) from original
    except BaseException:
        for other in in_flight:
            try:
                ray.cancel(other)
            except Exception:  # best effort
                pass
        raise


def run_tasks(tasks: Iterable[Task], *, executor: str = "local", n_jobs: int | None = None,
              store: str | Path | None = None, ray_address: str | None = None,
              progress: ProgressCallback | None = None, threads: int | None = None) -> dict[str, Any]:
    """Run every task and return ``{key: result}`` in the order of ``tasks``.

    Parameters
    ----------
    tasks : iterable of Task
        :class:`Task` objects with distinct keys (compared case-insensitively).
    executor : {"local", "serial", "ray"}, default "local"
        ``"local"`` (worker processes), ``"serial"`` (this process) or ``"ray"``.
    n_jobs : int, optional
        Worker processes for ``"local"`` (default: the CPUs this process may use, see
        :func:`~latentquant._threads.available_cpus`); the most tasks in flight for ``"ray"``
        (default all). Ignored by ``"serial"``.
    store : str or path-like, optional
        Directory where each finished result is saved at once; results already there (with matching arguments) are
        loaded instead of recomputed. ``None``: nothing is saved.
    ray_address : str, optional
        Passed to ``ray.init(address=...)`` when Ray is not initialised yet (``None``: a local Ray instance).
    progress : callable, optional
        ``progress(done, total, key)`` called in this process each time a task is loaded or finishes.
    threads : int, optional
        Threads (torch, BLAS) each task runs with, in every executor (default: ``LATENTQUANT_NUM_THREADS``, else 1,
        see :func:`~latentquant._threads.fit_threads`). With a fixed value, results do not depend on the machine
        or on ``n_jobs``; the cores are used by running ``n_jobs`` tasks at once.

    Returns
    -------
    dict
        ``{task.key: result}``, in the order of ``tasks`` whatever the order in which they finished.

    Raises
    ------
    ConfigError
        Invalid or duplicate keys, an unknown executor, a bad ``n_jobs``, a non module-level function with
        ``"local"``/``"ray"``, or ``"ray"`` without Ray installed.
    TaskError
        A task raised (the original exception is ``__cause__``). With ``"local"``, tasks not started yet are
        cancelled and the running ones finish; every task that finished is already saved in ``store``.

    Examples
    --------
    >>> import tempfile
    >>> store = tempfile.mkdtemp()
    >>> tasks = [Task(f"square-{x}", pow, {"base": x, "exp": 2}) for x in (3, 1, 2)]
    >>> run_tasks(tasks, executor="serial", store=store)
    {'square-3': 9, 'square-1': 1, 'square-2': 4}

    Run again with the same store, nothing is recomputed: the results are read from ``store`` (here ``fn`` is
    replaced by one that would fail, and is never called).

    >>> again = [Task(t.key, divmod, t.kwargs) for t in tasks]
    >>> run_tasks(again, executor="serial", store=store)
    {'square-3': 9, 'square-1': 1, 'square-2': 4}
    """
    tasks = _check_tasks(tasks)
    check_arg("executor", executor, Options("local", "serial", "ray"))
    check_arg("n_jobs", n_jobs, Interval(Integral, 1, None), None)
    check_arg("threads", threads, Interval(Integral, 1, None), None)
    threads = fit_threads() if threads is None else int(threads)
    check_arg("store", store, str, os.PathLike, None)
    store_path = None if store is None else Path(store)
    if store_path is not None:
        store_path.mkdir(parents=True, exist_ok=True)
    memo: dict[int, str] = {}
    fingerprints = {t.key: _fingerprint(t, memo) for t in tasks} if store_path is not None else {}
    runner = _Runner(len(tasks), store_path, progress, fingerprints)

    pending: list[Task] = []
    for task in tasks:
        cached = _MISSING if store_path is None else _load_result(store_path, task, fingerprints[task.key])
        if cached is _MISSING:
            pending.append(task)
        else:
            runner.finish(task, cached, save=False)

    if pending:
        if executor == "serial":
            _run_serial(pending, runner, threads)
        elif executor == "local":
            _run_local(pending, runner, n_jobs or available_cpus(), threads)
        else:
            _run_ray(pending, runner, n_jobs, ray_address, threads)
    return {t.key: runner.results[t.key] for t in tasks}

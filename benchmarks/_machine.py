"""Machine and environment description shared by the benchmarks.

``machine_info()`` collects what a benchmark result depends on (CPU, cores, memory, thread settings, library versions,
git revision) and ``machine_markdown()`` renders it as a markdown bullet list for ``benchmarks/RESULTS.md``. Only the
standard library is imported at module level; torch/numpy versions are read from the installed distributions.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "RESULTS_FILE", "RESULTS_HEADER", "append_results", "cpu_model", "fmt_range", "git_revision", "load_average",
    "machine_info", "machine_markdown", "maxrss_kib", "package_version", "physical_cores", "rss_now_kib", "timed",
    "total_ram_gib",
]

REPO_ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    """CPU model name (``/proc/cpuinfo`` on Linux, ``sysctl`` on macOS, ``platform.processor()`` otherwise)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                 timeout=5, check=False)
            if out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def physical_cores() -> int | None:
    """Number of physical cores on Linux (distinct ``(physical id, core id)`` pairs), else ``None``."""
    try:
        cores: set[tuple[str, str]] = set()
        phys = core = ""
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key == "physical id":
                    phys = value.strip()
                elif key == "core id":
                    core = value.strip()
                elif not line.strip():
                    if core:
                        cores.add((phys, core))
                    phys = core = ""
        if core:
            cores.add((phys, core))
        return len(cores) or None
    except OSError:
        return None


def total_ram_gib() -> float | None:
    """Total physical memory in GiB, or ``None`` when it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def load_average() -> tuple[float, float, float] | None:
    """1/5/15-minute load averages (other work on a shared machine inflates and scatters timings)."""
    try:
        return os.getloadavg()
    except (OSError, AttributeError):
        return None


def package_version(name: str) -> str:
    """Version of ``name``: the imported module's ``__version__`` (e.g. ``2.13.0+cpu``) when it is imported, else the
    installed distribution's version, else ``"not installed"``."""
    module = sys.modules.get(name)
    if module is not None and isinstance(getattr(module, "__version__", None), str):
        return module.__version__
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_revision(repo: Path = REPO_ROOT) -> str:
    """Short git sha of ``HEAD`` (``+dirty`` with uncommitted changes), or why there is none."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=repo, capture_output=True, text=True,
                             timeout=10, check=False)
        if sha.returncode != 0:
            return "n/a (no commit yet)" if (repo / ".git").exists() else "n/a (not a git checkout)"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, timeout=10, check=False)
        return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "n/a (git unavailable)"


def machine_info(packages: tuple[str, ...] = ("torch", "numpy"), *, torch_threads: int | None = None,
                 load_avg: tuple[float, float, float] | None = None) -> dict[str, Any]:
    """Describe this machine and environment.

    Parameters
    ----------
    packages : tuple of str
        Distributions whose versions are recorded (in this order).
    torch_threads : int, optional
        The intra-op thread count the benchmark ran with; read from torch when omitted and torch is imported.
    load_avg : tuple of float, optional
        Load averages taken when the benchmark *started* (:func:`load_average`); read now when omitted.
    """
    if torch_threads is None and "torch" in sys.modules:
        torch_threads = sys.modules["torch"].get_num_threads()
    ram = total_ram_gib()
    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "physical_cores": physical_cores(),
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch_threads,
        "ram_gib": None if ram is None else round(ram, 1),
        "load_avg": load_avg if load_avg is not None else load_average(),
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": platform.python_version(),
        "versions": {name: package_version(name) for name in packages},
        "git": git_revision(),
    }


def machine_markdown(info: dict[str, Any]) -> str:
    """Render :func:`machine_info` as a markdown bullet list."""
    cores = f"{info['logical_cpus']} logical"
    if info.get("physical_cores"):
        cores += f", {info['physical_cores']} physical"
    if info.get("cpus_available") not in (None, info["logical_cpus"]):
        cores += f", {info['cpus_available']} available to this process"
    ram = "unknown" if info.get("ram_gib") is None else f"{info['ram_gib']} GiB"
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    return "\n".join([
        f"- CPU: {info['cpu']} ({cores})",
        f"- torch threads: {info['torch_threads']}",
        f"- RAM: {ram}",
        *([f"- load average at start (1/5/15 min): {' / '.join(f'{v:.2f}' for v in info['load_avg'])}"]
          if info.get("load_avg") else []),
        f"- OS: {info['os']}",
        f"- Python {info['python']}; {versions}",
        f"- git: {info['git']}",
    ])


if __name__ == "__main__":
    print(machine_markdown(machine_info()))


# ------------------------------------------------------------------ shared by the benchmark scripts
RESULTS_FILE = Path(__file__).resolve().parent / "RESULTS.md"
RESULTS_HEADER = """# Benchmark results

Appended by the scripts in `benchmarks/` (newest last). Each section records the machine, the exact command and
the measured numbers; see `benchmarks/README.md` for what each benchmark measures and its fairness rules.
"""


def append_results(section: str, path: Path = RESULTS_FILE) -> None:
    """Append a markdown section to the results file (created with its header if missing)."""
    if not path.exists():
        path.write_text(RESULTS_HEADER, encoding="utf-8")
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n" + section)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """``(seconds, fn())``."""
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def fmt_range(values: list[float], digits: int = 3) -> str:
    """Median, and ``(min–max)`` when there are several values."""
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def rss_now_kib() -> float | None:
    """Current resident set size in KiB (Linux ``/proc``), or ``None`` elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def maxrss_kib(who: int | None = None) -> float:
    """Peak resident set size in KiB of this process (or of ``who``, e.g. ``resource.RUSAGE_CHILDREN``)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF if who is None else who).ru_maxrss
    return peak / 1024 if sys.platform == "darwin" else float(peak)  # bytes on macOS, KiB on Linux

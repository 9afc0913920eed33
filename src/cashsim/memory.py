"""How much memory a Monte Carlo run needs, and whether this machine has it - checked before the run, so too many
paths is a message naming the setting, not a ``MemoryError`` traceback an hour later.

Rule (a floor, in bytes; float64 = 8 bytes)::

    needed = n_paths * n_days * 8 * arrays  +  n_paths * n_groups * n_months * 8 * 2

``n_days`` is the horizon in days (at most 31 per forecast month); ``arrays`` the paths x days arrays a run keeps at
once: :data:`RUN_ARRAYS` for a forecast (cash per day, discount cost per day, one derived copy such as the
cumulated cash), :data:`COMPARISON_ARRAYS` for a lever comparison (two runs and their difference). The second term
counts the per-customer groups (``group_by``: cash per path, customer and month, plus one working copy) when used.
Available memory is the kernel's estimate ``MemAvailable`` (``/proc/meminfo``), lowered to what the control group
still allows (cgroup v2 ``memory.max - memory.current``, the limit of a container), else
``os.sysconf`` free pages; unknown (None) means no check.

Example::

    >>> run_bytes(2000, 124)                    # 2000 paths, 4 months
    5952000
    >>> fits(10 ** 8, 124, available=16 * 2 ** 30)
    False
"""

from __future__ import annotations

import os
from pathlib import Path

from cashsim.errors import ParamsError

#: Bytes of one float64.
FLOAT_BYTES = 8
#: Days of a forecast month, rounded up: the horizon's days before the as-of date is known.
DAYS_PER_MONTH = 31
#: Paths x days arrays a forecast keeps at once (cash per day, discount cost per day, one derived copy).
RUN_ARRAYS = 3
#: Paths x days arrays a lever comparison keeps at once (two runs of two arrays and their difference, one copy).
COMPARISON_ARRAYS = 6


def horizon_days(months: int) -> int:
    """Days of a horizon of ``months`` calendar months, rounded up (31 a month)."""
    return int(months) * DAYS_PER_MONTH


def run_bytes(n_paths: int, n_days: int, *, arrays: int = RUN_ARRAYS, n_groups: int = 0, n_months: int = 0) -> int:
    """Memory a run of ``n_paths`` paths over ``n_days`` days needs, in bytes (the module's rule)."""
    paths = int(n_paths)
    return paths * int(n_days) * FLOAT_BYTES * int(arrays) + paths * int(n_groups) * int(n_months) * FLOAT_BYTES * 2


def _meminfo_available(path: Path = Path("/proc/meminfo")) -> int | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024   # kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_headroom(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """What the process's cgroup v2 still allows (``memory.max - memory.current``), None when unlimited/unknown."""
    try:
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((root / "memory.current").read_text().strip()))
    except (OSError, ValueError):
        return None


def available_bytes() -> int | None:
    """Memory this process can still use, in bytes (see the module docstring); None when it cannot be read."""
    found = [v for v in (_meminfo_available(), _cgroup_headroom()) if v is not None]
    if not found:
        try:
            found = [os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")]
        except (ValueError, OSError, AttributeError):
            return None
    return min(found)


def fits(n_paths: int, n_days: int, *, available: int | None = None, **shape: int) -> bool:
    """Whether :func:`run_bytes` fits in ``available`` bytes (default :func:`available_bytes`; unknown: True)."""
    available = available_bytes() if available is None else available
    return available is None or run_bytes(n_paths, n_days, **shape) <= available


def check_paths(n_paths: int, n_days: int, *, setting: str, file: str | None = None, key: str = "simulation.n_paths",
                arrays: int = RUN_ARRAYS, n_groups: int = 0, n_months: int = 0) -> None:
    """Raise :class:`ParamsError` naming ``setting`` (``--paths`` or the params key) when the run cannot fit.

    The message gives the estimate, the memory available and the largest number of paths that fits.
    """
    available = available_bytes()
    needed = run_bytes(n_paths, n_days, arrays=arrays, n_groups=n_groups, n_months=n_months)
    if available is None or needed <= available:
        return
    per_path = max(1, run_bytes(1, n_days, arrays=arrays, n_groups=n_groups, n_months=n_months))
    what = ("{setting} {paths:,}: a run of that many paths needs about {needed:,.1f} GiB of memory ({days} days x "
            "{arrays} arrays of 8-byte numbers per path{groups}) and {available:,.1f} GiB is available; give at most "
            "{most:,} paths")
    groups = ("", {})
    if n_groups:
        groups = (" + {groups:,} customer groups x {months} months", {"groups": n_groups, "months": n_months})
    raise ParamsError.of(what.replace("{groups}", groups[0]), setting=setting, paths=int(n_paths),
                         needed=needed / 2 ** 30, days=n_days, arrays=arrays, available=available / 2 ** 30,
                         most=int(available // per_path), **groups[1],
                         fields={"file": file, "key": key, "needed": needed, "available": available})

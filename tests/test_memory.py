"""cashsim.memory: the memory a run needs, what the machine has, and the refusal that names the setting."""

from __future__ import annotations

import pytest

from cashsim import memory
from cashsim.errors import ParamsError


def test_run_bytes_counts_the_arrays_and_the_customer_groups():
    assert memory.run_bytes(1000, 100) == 1000 * 100 * 8 * memory.RUN_ARRAYS
    assert memory.run_bytes(1000, 100, arrays=1, n_groups=50, n_months=5) == 1000 * 100 * 8 + 1000 * 50 * 5 * 8 * 2
    assert memory.horizon_days(4) == 124


def test_available_memory_is_read_from_the_system(tmp_path):
    found = memory.available_bytes()
    assert found is None or found > 0
    info = tmp_path / "meminfo"
    info.write_text("MemTotal:       16000000 kB\nMemAvailable:    8000000 kB\n")
    assert memory._meminfo_available(info) == 8_000_000 * 1024
    (tmp_path / "memory.max").write_text("1000000\n")
    (tmp_path / "memory.current").write_text("400000\n")
    assert memory._cgroup_headroom(tmp_path) == 600_000                 # a container's limit counts too
    (tmp_path / "memory.max").write_text("max\n")
    assert memory._cgroup_headroom(tmp_path) is None


def test_check_paths_names_the_setting_and_the_largest_run_that_fits(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 10 * 2 ** 30)
    memory.check_paths(10_000, 124, setting="--paths")                   # fits: nothing raised
    with pytest.raises(ParamsError) as err:
        memory.check_paths(100_000_000, 124, setting="--paths", n_groups=300, n_months=5)  # 26,976 bytes a path
    text = str(err.value)
    assert text.startswith("--paths 100,000,000: a run of that many paths needs about 2,512.3 GiB of memory")
    assert "+ 300 customer groups x 5 months" in text and "10.0 GiB is available; give at most 398,035 paths" in text
    assert err.value.key == "simulation.n_paths" and err.value.needed > err.value.available
    monkeypatch.setattr(memory, "available_bytes", lambda: None)         # unknown: no check
    memory.check_paths(10 ** 12, 124, setting="--paths")

"""The accuracy benchmark's --quick mode runs end to end on the real recordings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "accuracy.py"


def test_the_quick_accuracy_benchmark_prints_a_table_per_dataset(shared_data, tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--rows", "recommended", "--data",
         str(shared_data), "--work", str(tmp_path)],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for title in ("### NARW up-calls", "### Watkins-10 species", "### Bengalese finch"):
        assert title in out
    # one recommended row per dataset (the row asked for), each with real numbers in it
    rows = [line for line in out.splitlines() if re.match(r"\| (baseline|recommended) \| 0 ", line)]
    assert len(rows) == 3 and all(row.startswith("| recommended") for row in rows), out
    assert all(re.search(r"\d\.\d{3}", row) for row in rows)
    assert "sample-rate-only baseline" in out

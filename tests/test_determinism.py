"""Same input, byte-identical numbers: every analysis, run in fresh processes with different
polars thread counts, gives exactly the same results (digests of every value)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("_determinism_probe.py")


def run_probe(client: str, threads: int) -> dict[str, str]:
    env = {**os.environ, "POLARS_MAX_THREADS": str(threads)}
    out = subprocess.run(
        [sys.executable, str(PROBE), client],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("client", ["telecom", "bookshop"])
def test_every_analysis_is_byte_identical_across_runs_and_thread_counts(client):
    first = run_probe(client, threads=2)
    again = run_probe(client, threads=2)
    single = run_probe(client, threads=1)
    assert len(first) >= 15
    assert first == again, {k for k in first if first[k] != again[k]}
    assert first == single, {k for k in first if first[k] != single[k]}

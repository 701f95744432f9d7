"""The benchmarks cannot rot: a tiny version of each runs here (`--quick`), checked for its keys
and types, never for its timings (those belong in BENCHMARKS.md, not in a test)."""
from __future__ import annotations

import json
import subprocess
import sys
from numbers import Real
from typing import Any

import pytest

from tests.helpers import ROOT

pytest.importorskip("negmas", reason="the negmas benchmark needs the bench extra")


def _bench(*names: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "benchmarks", *names, "--quick", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def test_offline_benchmarks_report_their_figures() -> None:
    out = _bench("negmas", "paper-scale")
    assert set(out) == {"negmas", "paper-scale"}
    negmas = out["negmas"]
    assert _number(negmas["ratio"]) and negmas["ratio"] > 0
    for engine in ("arena", "negmas", "negmas_one_offer", "arena_stored"):
        assert _number(negmas[engine]["offers_per_s"]) and negmas[engine]["offers_per_s"] > 0
        assert negmas[engine]["agreement_rate"] == 1.0  # Boulware meets Conceder every time
    scale = out["paper-scale"]
    for key in ("seconds", "peak_mib", "store_mb", "avatars_5185_seconds"):
        assert _number(scale[key]) and scale[key] > 0, key
    assert scale["failed"] == 0
    assert scale["matches"] == scale["study1"]["matches"] + scale["study2"]["matches"] > 0
    assert scale["turns"] == 8 * scale["matches"]


def test_llm_benchmarks_report_their_figures() -> None:
    from benchmarks.support import llm_status

    if llm_status() is not None:
        pytest.skip(llm_status())
    out = _bench("concurrency", "overhead", "replay", "tokens")
    assert set(out) == {"concurrency", "overhead", "replay", "tokens"}
    conc = out["concurrency"]
    assert set(conc["efficiency"]) >= {"1", "16", "64", "256"}
    assert all(_number(e) and e > 0 for e in conc["efficiency"].values())
    assert _number(conc["efficiency_at_64"]) and conc["calls_per_match"] == 8
    assert all(level["failed"] == 0 for level in conc["levels"].values())
    over = out["overhead"]
    assert _number(over["cpu_ms_per_call"]) and _number(over["ratio_vs_sdk"])
    assert over["failed"] == 0
    replay = out["replay"]
    assert replay["requests"] == 0 and replay["identical_tables"] is True
    assert _number(replay["seconds"])
    tokens = out["tokens"]
    assert tokens["prompt_tokens_full"] > tokens["prompt_tokens_low"] > 0
    assert _number(tokens["full_size"]["study2_cost_usd"])


def test_the_analysis_benchmark_reports_its_figures() -> None:
    r = _bench("analysis")["analysis"]
    for study in ("study1", "study2"):
        row = r["studies"][study]
        assert row["matches"] > 0
        for command in ("analyze", "report"):
            after = row[command]["after"]
            assert _number(after["seconds"]) and after["seconds"] > 0
            assert _number(after["cpu_s"])
    assert r["before_skipped"]  # --quick measures this tree only

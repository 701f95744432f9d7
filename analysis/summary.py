"""A short summary of a run: matches, deal rate, mean claim by own and by opponent level."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from analysis.frames import load_run


def summarize(run_dir: Path) -> dict[str, Any]:
    frames = load_run(run_dir)
    m = frames.matches
    ok = m[m["status"] == "ok"]
    props = frames.proposals
    props = props[(props["status"] == "ok") & props["proposer"].notna()]  # personas, not scripts
    summary: dict[str, Any] = {
        "run_dir": str(run_dir),
        "scenario": frames.meta.get("scenario"),
        "condition": frames.meta.get("condition"),
        "design": frames.meta.get("design"),
        "matches": int(len(m)),
        "ok": int(len(ok)),
        "failed": int((m["status"] == "failed").sum()),
        "deal_rate": float(ok["deal"].mean()) if len(ok) else None,
        "proposals": int(len(props)),
        "acceptance_rate": float(props["accepted"].mean()) if props["accepted"].notna().any() else None,
        "mean_claim": float(props["claim"].mean()) if len(props) else None,
    }
    for key, column in (("claim_by_own", "own"), ("claim_by_opp", "opp")):
        sub = props.dropna(subset=[column, "claim"])
        if len(sub):
            means = sub.groupby(sub[column].astype(int))["claim"].mean()
            summary[key] = {int(k): round(float(v), 2) for k, v in means.items()}
    return summary


def format_summary(summary: dict[str, Any], title: str) -> str:
    lines = [f"{title}: {summary['scenario']}, {summary['condition']}, design {summary['design']}"]
    deal = summary.get("deal_rate")
    acc = summary.get("acceptance_rate")
    lines.append(f"  matches {summary['matches']:,} (ok {summary['ok']:,}, failed "
                 f"{summary['failed']:,}); deal rate {deal:.1%}" if deal is not None else
                 f"  matches {summary['matches']:,}")
    if summary.get("mean_claim") is not None:
        lines.append(f"  proposals {summary['proposals']:,}; mean claim {summary['mean_claim']:.2f}"
                     + (f"; accepted {acc:.1%}" if acc is not None else ""))
    for key, label in (("claim_by_own", "mean claim by own level"),
                       ("claim_by_opp", "mean claim by opponent level")):
        if key in summary:
            cells = "  ".join(f"{k}: {v:.1f}" for k, v in summary[key].items())
            lines.append(f"  {label:<29} {cells}")
    return "\n".join(lines)


def claims_frame(run_dir: Path) -> pd.DataFrame:
    return load_run(run_dir).proposals

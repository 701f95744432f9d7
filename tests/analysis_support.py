"""Shared, cached inputs of the analysis tests: a small demo run (made once per session) and
the paper's reference data read once per model (when the reference folder is present)."""
from __future__ import annotations

import atexit
import functools
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pandas as pd

from tests.helpers import REFERENCE, cli

DEMO_ARGS = ("--per-level", "2", "--repetitions", "2", "--seed", "1")


@functools.lru_cache(maxsize=1)
def demo_dir() -> Path:
    """`persona-arena demo --per-level 2 --repetitions 2` in a temporary folder (a few seconds);
    holds study1/ (confederate) and study2/ (factorial) runs of the GPT-4o surrogate."""
    root = Path(tempfile.mkdtemp(prefix="pa-analysis-demo-"))
    atexit.register(shutil.rmtree, root, True)
    out = root / "demo"
    result = cli("demo", "--out", str(out), *DEMO_ARGS)
    assert result.returncode == 0, result.stderr
    return out


def copy_run(src: Path, dst: Path) -> Path:
    """A private copy of a run folder (tests that edit a store must not touch the shared one)."""
    shutil.copytree(src, dst)
    return dst


def set_turn_text(run_dir: Path, match_id: str, turn_index: int, text: str) -> None:
    conn = sqlite3.connect(run_dir / "arena.sqlite")
    try:
        conn.execute("UPDATE turns SET text = ? WHERE match_id = ? AND turn_index = ?",
                     (text, match_id, turn_index))
        conn.commit()
    finally:
        conn.close()


def has_reference() -> bool:
    return (REFERENCE / "study2_image_folders.csv").is_file()


def reference_frame(model: str, extractor: bool = False) -> pd.DataFrame:
    """read_study2 of one model (plus our extractor's readings when asked: ~10-30 s a model),
    read once per session."""
    return _reference_frame(model, bool(extractor))


@functools.lru_cache(maxsize=4)
def _reference_frame(model: str, extractor: bool) -> pd.DataFrame:
    from analysis.replicate import read_with_extractor

    return read_with_extractor(REFERENCE, model, extractor=extractor)


# -- synthetic paper files (the paper's column layout, built with openpyxl) -------------------
def _write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    path.parent.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _columns(first: str, second: str | None) -> list[str]:
    ids = [first] + ([second] if second else [])
    return (ids + [f"text_{i}" for i in range(1, 9)]
            + [f"proposal_amount_round_{r}" for r in range(1, 5)]
            + [f"proposal_acceptance_round_{r}" for r in range(1, 5)])


def proposal(claim: float) -> str:
    return f"I propose ${claim:g} for me and ${100 - claim:g} for you."


ACCEPT = "I accept your proposal."
REJECT = "I reject your proposal."
SYNTHETIC_LEVELS = {11: 1, 12: 4, 13: 7}


def synthetic_claim(own: int, opp: int, round_: int) -> float:
    """An exact linear rule, so the regression's answer is known: 50 + 2 own - 1 opp."""
    return 50 + 2 * own - opp


def write_study2(results_dir: Path, subfolder: str = "study2_gpt4o",
                 name: str = "study2_gpt_1.xlsx", csv_model: str = "gpt-4o") -> Path:
    """A Study 2 file of all 9 ordered pairs of 3 images (levels 1, 4, 7) and the levels CSV."""
    rows = []
    for first in SYNTHETIC_LEVELS:
        for second in SYNTHETIC_LEVELS:
            texts, amounts, accepts = [], [], []
            for r in range(1, 5):
                me, other = (first, second) if r % 2 else (second, first)
                claim = synthetic_claim(SYNTHETIC_LEVELS[me], SYNTHETIC_LEVELS[other], r)
                ok = claim <= 60
                texts += [proposal(claim), ACCEPT if ok else REJECT]
                amounts.append(claim)
                accepts.append(int(ok))
            rows.append([first, second, *texts, *amounts, *accepts])
    path = _write_xlsx(results_dir / subfolder / name, _columns("proposer", "responder"), rows)
    csv = results_dir / "study2_image_folders.csv"
    lines = ["model,image_id,folder"] + [f"{csv_model},{i},{lv}"
                                         for i, lv in SYNTHETIC_LEVELS.items()]
    csv.write_text("\n".join(lines) + "\n")
    return path


CONFEDERATE_LINES = {
    "accept": "As the responder, I accept your proposal.",
    "even": "As the proposer, I suggest an even split, $50 for me and 50$ for you.",
    "greedy": "As the proposer, I suggest a division of $75 for me and $25 for you.",
}


def write_study1(results_dir: Path, llm_first: bool, images: tuple[int, ...] = (21, 22),
                 name: str | None = None) -> Path:
    """A Study 1 file: the LLM (own image only) against the scripted confederate. The paper's
    labels of the CONFEDERATE's lines are deliberately wrong (99 / 0), so agreement counted over
    its texts would show up as less than perfect."""
    name = name or ("study1_gpt_1round_1.xlsx" if llm_first else "study1_gpt_round2_1.xlsx")
    rows = []
    for image in images:
        texts: list[str] = []
        amounts: list[object] = []
        accepts: list[object] = []
        for r in range(1, 5):
            llm_proposes = (r % 2 == 1) == llm_first
            if llm_proposes:
                claim = 60 + image % 10 + r
                texts += [proposal(claim), CONFEDERATE_LINES["accept"]]
                amounts.append(claim)
                accepts.append(0)  # wrong on purpose: the confederate accepted
            else:
                line = CONFEDERATE_LINES["even" if r <= 2 else "greedy"]
                texts += [line, ACCEPT if r <= 2 else REJECT]
                amounts.append(99)  # wrong on purpose
                accepts.append(1 if r <= 2 else 0)
        rows.append([image, *texts, *amounts, *accepts])
    return _write_xlsx(results_dir / "study1_GPT4o" / name, _columns("image_file", None), rows)


def run_cli(*args: str) -> tuple[int, str, str]:
    """`persona-arena ARGS` in this process (exit code, stdout, stderr): the same parser and
    error handling as the console script, without paying a fresh interpreter per call."""
    import contextlib
    import io

    from arena.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse errors
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


# -- simulated behaviour with planted effects (known answers for the models) ------------------
def planted_claims(own: float = 1.5, opp: float = -0.8, sd_persona: float = 2.0,
                   sd_resid: float = 10.0, levels: int = 7, per_level: int = 5,
                   repetitions: int = 2, intercept: float = 55.0, seed: int = 11) -> pd.DataFrame:
    """Claims of a factorial run drawn from `intercept + own*L_own + opp*L_opp + persona + noise`
    (the surrogate's model), as a frame with columns y, own, opp, diff, persona: every ordered
    pair of personas meets `repetitions` times, each seat proposing twice."""
    import numpy as np

    rng = np.random.default_rng(seed)
    personas = levels * per_level
    level = np.arange(personas) // per_level + 1
    effect = rng.normal(0.0, sd_persona, personas)
    a, b = np.meshgrid(np.arange(personas), np.arange(personas), indexing="ij")
    a = np.tile(a.ravel(), repetitions)
    b = np.tile(b.ravel(), repetitions)
    proposer = np.concatenate([a, b, a, b])
    responder = np.concatenate([b, a, b, a])
    y = (intercept + own * level[proposer] + opp * level[responder] + effect[proposer]
         + rng.normal(0.0, sd_resid, len(proposer)))
    frame = pd.DataFrame({"y": y, "own": level[proposer].astype(float),
                          "opp": level[responder].astype(float),
                          "persona": [f"p{i:03d}" for i in proposer]})
    frame["diff"] = frame["own"] - frame["opp"]
    return frame


def concession_config(pool: Path, scenario: str = "ultimatum-4") -> str:
    """A deterministic run: every seat a linear-concession tactic (no randomness at all)."""
    return (f'seed = 4\nscenario = "{scenario}"\ncondition = "both-images"\n'
            f'[personas]\npool = "{pool}"\nrating = "design"\n'
            '[design]\nkind = "factorial"\nlevels = 7\nper_level = 2\nrepetitions = 1\n'
            '[agents.default]\nkind = "concession"\n[execution]\nprogress = "none"\n')

"""Import the paper's released xlsx files ("Kiss up, Kick down", EMNLP 2024) into a run store,
so every analysis, figure and report works on the paper's games exactly as on ours.

One match per xlsx row, eight turns each (round r: the proposer's text then the responder's).
`claim` and `accepted` on the turns are what OUR offline extractor reads from the texts, so the
store is scored the way our engine scores a run (an unsure reading is an invalid turn with
reason "ambiguous: ...", and every turn keeps read_confidence, read_evidence and read_note);
the paper's GPT-4o labels are kept beside them
in extra columns, and the agreement between the two is reported over the LLM's own texts (the
confederate's canned lines of Study 1 would inflate it).

RUN_DIR also gets `import.json` (what was imported, from where, and the agreement): an imported
run has no config file.

Extra columns this importer adds to the standard schema (ALTER TABLE; ordinary runs lack them):
- `turns.paper_claim` (proposer turns: the paper's claim label, NULL when not a number) and
  `turns.paper_accepted` (responder turns: the paper's 1/0 label, NULL when neither);
- `matches.source_file` (path relative to RESULTS_DIR), `matches.source_row` (0-based data row)
  and `matches.study` (1 or 2).

Study 2 files (`proposer`, `responder`, `text_1..8`, `proposal_amount_round_1..4`,
`proposal_acceptance_round_1..4`): seat a is `proposer` (proposes in rounds 1 and 3), seat b
`responder`. Study 1 files (`image_file` instead of the two ids): the LLM played one seat against
the scripted confederate; it proposed in rounds 1 and 3 (seat a) in files named `*1round*` or
`*round1*`, in rounds 2 and 4 (seat b) in `*2round*` / `*round2*`.
"""
from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.paper import classify_acceptance, classify_claim
from analysis.coverage import acceptance_coverage, claim_coverage, coverage
from analysis.readings import acceptance_readings, claim_readings
from arena.store import STORE_NAME, Store, encode_offer
from scenarios.errors import InputError
from scenarios.reading import Reading

PIE = 100.0
ROUNDS = 4
SCENARIO = "ultimatum-4"
DEFAULT_LEVELS = "study2_image_folders.csv"
CONFEDERATE = "confederate"

_EXTRA_COLUMNS = {
    "turns": (("paper_claim", "REAL"), ("paper_accepted", "INTEGER")),
    "matches": (("source_file", "TEXT"), ("source_row", "INTEGER"), ("study", "INTEGER")),
}
#: persona ids are "<tag>-<image id>": the models' image sets differ (and so do their levels)
PERSONA_TAGS = {"gpt-4o": "gpt4o", "claude-3-haiku": "haiku"}
_SEAT_PATTERN = re.compile(r"([12])round|round([12])(?!\d)")
_REPETITION = re.compile(r"_(\d+)(?:-\d+)?$")


@dataclass(frozen=True)
class PaperFile:
    """One xlsx file: which study, which model, and the seat the LLM (Study 1) played."""

    path: Path
    relative: str
    study: int
    model: str
    repetition: int
    llm_seat: str | None  # Study 1: "a" (proposes rounds 1, 3) or "b"; Study 2: None


def model_of(path: Path) -> str:
    """The model that played, from the file or folder name (the paper's naming)."""
    name = "/".join(part.lower() for part in path.parts[-2:])
    if "haiku" in name or "claude" in name:
        return "claude-3-haiku"
    if "gpt" in name:
        return "gpt-4o"
    return path.parent.name or "unknown"


def llm_seat(path: Path) -> str:
    """Study 1: seat a when the LLM proposed in rounds 1 and 3, seat b in rounds 2 and 4."""
    stem = re.sub(r"^study\d", "", path.stem.lower())
    found = {a or b for a, b in _SEAT_PATTERN.findall(stem)}
    if len(found) != 1:
        raise InputError(f"{path}: cannot tell which rounds the LLM proposed in (Study 1 file "
                         "names hold '1round'/'round1' or '2round'/'round2')")
    return "a" if found == {"1"} else "b"


def _read_xlsx(path: Path) -> pd.DataFrame:
    try:
        return pd.read_excel(path, engine="openpyxl")
    except Exception as error:  # a broken or foreign file: name it, no traceback
        raise InputError(f"{path}: cannot read as xlsx ({error})") from None


def _check_columns(path: Path, games: pd.DataFrame, ids: tuple[str, ...]) -> None:
    needed = set(ids)
    for r in range(1, ROUNDS + 1):
        needed |= {f"text_{2 * r - 1}", f"text_{2 * r}", f"proposal_amount_round_{r}",
                   f"proposal_acceptance_round_{r}"}
    missing = sorted(needed - set(games.columns))
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")


def find_files(results_dir: Path, models: set[str] | None = None) -> list[tuple[PaperFile,
                                                                                 pd.DataFrame]]:
    """Every Study 1 / Study 2 xlsx file under RESULTS_DIR (searched recursively), read."""
    if not results_dir.is_dir():
        raise InputError(f"{results_dir}: not a folder (expected the paper's Results folder)")
    paths = sorted(p for p in results_dir.rglob("*.xlsx") if not p.name.startswith("~$"))
    if not paths:
        raise InputError(f"{results_dir}: no .xlsx files found")
    found = []
    for path in paths:
        model = model_of(path)
        if models and model not in models:
            continue
        games = _read_xlsx(path)
        match = _REPETITION.search(path.stem)
        repetition = int(match.group(1)) if match else 1
        relative = str(path.relative_to(results_dir))
        if {"proposer", "responder"} <= set(games.columns):
            _check_columns(path, games, ("proposer", "responder"))
            found.append((PaperFile(path, relative, 2, model, repetition, None), games))
        elif "image_file" in games.columns:
            _check_columns(path, games, ("image_file",))
            found.append((PaperFile(path, relative, 1, model, repetition, llm_seat(path)),
                          games))
        else:
            raise InputError(f"{path}: neither a Study 2 file (columns proposer, responder) nor "
                             "a Study 1 file (column image_file)")
    if not found:
        wanted = ", ".join(sorted(models or []))
        raise InputError(f"{results_dir}: no xlsx files of model(s) {wanted}")
    return found


def read_levels(path: Path) -> dict[tuple[str | None, str], int]:
    """(model or None, image id) -> level, from a CSV with columns image_id (or persona_id) and
    folder (or level), and optionally model (as in the paper's study2_image_folders.csv)."""
    try:
        table = pd.read_csv(path, dtype=str)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise InputError(f"{path}: cannot read the levels CSV ({error})") from None
    id_col = next((c for c in ("image_id", "persona_id", "image") if c in table.columns), None)
    level_col = next((c for c in ("folder", "level") if c in table.columns), None)
    if id_col is None or level_col is None:
        raise InputError(f"{path}: expected columns image_id and folder (or persona_id and level)")
    levels: dict[tuple[str | None, str], int] = {}
    for line, row in enumerate(table.to_dict("records"), start=2):
        try:
            level = int(float(row[level_col]))
        except (TypeError, ValueError):
            raise InputError(f"{path} line {line}: {level_col} {row[level_col]!r} is not a "
                             "whole number") from None
        model = str(row["model"]).strip() if "model" in table.columns else None
        levels[(model, _image_key(row[id_col]))] = level
    return levels


def _image_key(value: Any) -> str:
    """Image ids as text without a float's '.0' (xlsx ids arrive as numbers)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text[:-2] if re.fullmatch(r"\d+\.0", text) else text


def _label_claim(value: Any) -> float | None:
    try:
        number = float(str(value).strip().lstrip("$").replace(",", ""))
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _label_accept(value: Any) -> int | None:
    number = _label_claim(value)
    return int(number) if number in (0.0, 1.0) else None


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _turn(match_id: str, index: int, round_: int, speaker: str, role: str,
          persona: str | None, kind: str, offer: str | None, claim: float | None,
          accepted: int | None, text: str, parse_ok: int, reason: str | None,
          paper_claim: float | None, paper_accepted: int | None,
          reading: Reading) -> dict[str, Any]:
    return {"match_id": match_id, "turn_index": index, "round": round_, "speaker": speaker,
            "role": role, "persona_id": persona, "move_kind": kind, "offer": offer,
            "claim": claim, "accepted": accepted, "text": text, "parse_ok": parse_ok,
            "reason": reason, "calls": 0, "cached": 0, "paper_claim": paper_claim,
            "paper_accepted": paper_accepted, "read_confidence": reading.confidence,
            "read_evidence": reading.evidence or None, "read_note": reading.reason or None}


def _why_invalid(reading: Reading, nothing: str) -> str | None:
    """The engine's reason for a turn read from `reading`: None when it is a move."""
    if reading.value is None:
        return nothing
    return None if reading.sure else f"ambiguous: {reading.reason}"


def _coverage(claims: list[tuple[Reading, float, str]],
              accepts: list[tuple[Reading, float, str]]) -> dict[str, Any]:
    return coverage(claim_coverage(*_columns(claims)), acceptance_coverage(*_columns(accepts)))


def _columns(rows: list[tuple[Reading, float, str]]) -> tuple[list[Any], list[Any], list[Any]]:
    return [r for r, _, _ in rows], [label for _, label, _ in rows], [t for _, _, t in rows]


def _agreement(claims: list[tuple[float | None, float]],
               accepts: list[tuple[bool | None, float]]) -> dict[str, Any]:
    """Share of texts where our reading equals the paper's label (paper.py's definitions)."""
    wrong_c = sum(classify_claim(ours, label, PIE) is not None for ours, label in claims)
    wrong_a = sum(classify_acceptance(ours, label) is not None for ours, label in accepts)
    return {"claim": (len(claims) - wrong_c) / len(claims) if claims else None,
            "acceptance": (len(accepts) - wrong_a) / len(accepts) if accepts else None,
            "n_claim": len(claims), "n_acceptance": len(accepts)}


def import_paper(results_dir: Path, out: Path, levels_csv: Path | None = None,
                 models: set[str] | None = None, workers: int | None = None) -> dict[str, Any]:
    """Read every paper xlsx under RESULTS_DIR into OUT/arena.sqlite; returns a summary with
    the extractor's agreement with the paper's labels."""
    started = time.perf_counter()
    results_dir, out = Path(results_dir), Path(out)
    if (out / STORE_NAME).exists():
        raise InputError(f"{out}: already holds a run; choose another --out")
    if levels_csv is None and (results_dir / DEFAULT_LEVELS).is_file():
        levels_csv = results_dir / DEFAULT_LEVELS
    levels = read_levels(Path(levels_csv)) if levels_csv is not None else {}
    files = find_files(results_dir, models)

    # every turn's text, in order, so the extractor reads them all in one pass
    games: list[tuple[PaperFile, int, dict[str, Any]]] = []
    proposer_texts: list[str] = []
    responder_texts: list[str] = []
    for paper_file, frame in files:
        for row, game in enumerate(frame.to_dict("records")):
            games.append((paper_file, row, game))
            for r in range(1, ROUNDS + 1):
                proposer_texts.append(_text(game[f"text_{2 * r - 1}"]))
                responder_texts.append(_text(game[f"text_{2 * r}"]))
    claim_reads = claim_readings(proposer_texts, PIE, workers)
    accept_reads = acceptance_readings(responder_texts, workers)
    claims: list[float | None] = [r.value for r in claim_reads]  # type: ignore[misc]
    accepts: list[bool | None] = [r.value for r in accept_reads]  # type: ignore[misc]

    def level_of(model: str, image: str) -> int | None:
        return levels.get((model, image), levels.get((None, image)))

    personas: dict[str, tuple[str, int | None]] = {}
    match_rows: list[dict[str, Any]] = []
    turn_rows: list[dict[str, Any]] = []
    seen_ids: set[str] = set()
    agree: dict[str, dict[str, list[Any]]] = {}
    k = 0
    for paper_file, row, game in games:
        model = paper_file.model
        llm = f"llm:{model}"
        if paper_file.study == 2:
            images = {"a": _image_key(game["proposer"]), "b": _image_key(game["responder"])}
            agents = {"a": llm, "b": llm}
            condition = "both-images"
        else:
            seat = paper_file.llm_seat or "a"
            images = {seat: _image_key(game["image_file"]), ("b" if seat == "a" else "a"): None}
            agents = {s: (llm if images[s] is not None else CONFEDERATE) for s in "ab"}
            condition = "self-only"
        tag = PERSONA_TAGS.get(model, model)
        ids = {s: (f"{tag}-{img}" if img is not None else None) for s, img in images.items()}
        lv = {s: (level_of(model, img) if img is not None else None) for s, img in images.items()}
        for s in "ab":
            if ids[s] is not None:
                personas[ids[s]] = (images[s], lv[s])  # type: ignore[assignment]
        stem = Path(paper_file.relative).with_suffix("").as_posix().replace("/", "_")
        match_id = f"paper-{stem}-{row + 1:05d}"
        if match_id in seen_ids:
            raise InputError(f"{paper_file.path}: two files map to match id {match_id}")
        seen_ids.add(match_id)
        payoff = {"a": 0.0, "b": 0.0}
        agreements = 0
        bucket = agree.setdefault(model, {"claims": [], "accepts": [], "claim_reads": [],
                                          "accept_reads": []})
        for r in range(1, ROUNDS + 1):
            proposer = "a" if r % 2 == 1 else "b"
            responder = "b" if proposer == "a" else "a"
            claim_read, accept_read = claim_reads[k], accept_reads[k]
            p_text, r_text = proposer_texts[k], responder_texts[k]
            k += 1
            # as the engine reads a run: an unsure reading is an "ambiguous" invalid turn
            claim = claim_read.value if claim_read.sure else None  # type: ignore[assignment]
            accepted = accept_read.value if accept_read.sure else None  # type: ignore[assignment]
            label_claim = _label_claim(game[f"proposal_amount_round_{r}"])
            label_accept = _label_accept(game[f"proposal_acceptance_round_{r}"])
            if claim is not None and accepted:
                payoff[proposer] += claim
                payoff[responder] += PIE - claim
                agreements += 1
            if agents[proposer] != CONFEDERATE:
                label = math.nan if label_claim is None else label_claim
                bucket["claims"].append((claim_read.value, label))
                bucket["claim_reads"].append((claim_read, label, p_text))
            if agents[responder] != CONFEDERATE:
                label = math.nan if label_accept is None else float(label_accept)
                bucket["accepts"].append((accept_read.value, label))
                bucket["accept_reads"].append((accept_read, label, r_text))
            kind = "propose" if claim is not None else "invalid"
            turn_rows.append(_turn(
                match_id, 2 * r - 2, r, proposer, "proposer", ids[proposer], kind,
                encode_offer(claim), claim, None, p_text, int(claim is not None),
                _why_invalid(claim_read, "no proposal found in the text"),
                label_claim, None, claim_read))
            kind = "invalid" if accepted is None else "accept" if accepted else "reject"
            turn_rows.append(_turn(
                match_id, 2 * r - 1, r, responder, "responder", ids[responder], kind, None,
                None, None if accepted is None else int(accepted), r_text,
                int(accepted is not None),
                _why_invalid(accept_read, "neither an acceptance nor a rejection found in the "
                             "text"), None, label_accept, accept_read))
        total = PIE * ROUNDS
        match_rows.append({
            "match_id": match_id, "design": f"paper-study{paper_file.study}",
            "repetition": paper_file.repetition, "scenario": SCENARIO, "condition": condition,
            "seed": None, "persona_a": ids["a"], "persona_b": ids["b"], "level_a": lv["a"],
            "level_b": lv["b"], "agent_a": agents["a"], "agent_b": agents["b"], "status": "ok",
            "payoff_a": payoff["a"], "payoff_b": payoff["b"], "deal": int(agreements > 0),
            "agreements": agreements, "share_a": payoff["a"] / total,
            "share_b": payoff["b"] / total, "n_turns": 2 * ROUNDS, "error": None, "calls": 0,
            "source_file": paper_file.relative, "source_row": row, "study": paper_file.study})

    by_model = {m: _agreement(v["claims"], v["accepts"]) for m, v in sorted(agree.items())}
    for m, v in agree.items():
        by_model[m]["coverage"] = _coverage(v["claim_reads"], v["accept_reads"])
    overall = _agreement([c for v in agree.values() for c in v["claims"]],
                         [a for v in agree.values() for a in v["accepts"]])
    overall["coverage"] = _coverage([c for v in agree.values() for c in v["claim_reads"]],
                                    [a for v in agree.values() for a in v["accept_reads"]])
    studies = sorted({f.study for f, _ in files})
    conditions = {1: "self-only", 2: "both-images"}
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"{out}: cannot create the run folder ({error.strerror})") from None
    partial = out / (STORE_NAME + ".partial")  # renamed when complete: no half-made store
    for leftover in out.glob(partial.name + "*"):
        leftover.unlink()
    store = Store(partial)
    try:
        for table, columns in _EXTRA_COLUMNS.items():
            store.add_columns(table, columns)
        store.write_personas((pid, None, None, level, f"the paper's image {image}")
                             for pid, (image, level) in sorted(personas.items()))
        ratings = [{"persona_id": pid, "rater": "design", "score": float(level), "raw": "",
                    "model": "", "prompt_sha256": "", "created_at": time.time()}
                   for pid, (_, level) in personas.items() if level is not None]
        store.insert_rows({"ratings": ratings, "matches": match_rows, "turns": turn_rows})
        summary = {
            "run_dir": str(out), "results_dir": str(results_dir),
            "files": len(files), "matches": len(match_rows), "turns": len(turn_rows),
            "personas": len(personas),
            "personas_without_level": sum(1 for _, lv_ in personas.values() if lv_ is None),
            "models": sorted(agree), "studies": studies,
            "levels_csv": str(levels_csv) if levels_csv is not None else None,
            "extractor_agreement": {**overall, "by_model": by_model},
            "seconds": round(time.perf_counter() - started, 2)}
        (out / "import.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        store.set_meta({
            "scenario": SCENARIO, "design": "paper",
            "condition": conditions[studies[0]] if len(studies) == 1 else "mixed",
            "source": "Kiss up, Kick down (EMNLP 2024) released results",
            "results_dir": str(results_dir), "imported_at": str(time.time()),
            "planned_matches": str(len(match_rows)), "pie": str(PIE),
            "extractor_agreement": json.dumps(summary["extractor_agreement"])})
    finally:
        store.close()
    os.replace(partial, out / STORE_NAME)
    return summary

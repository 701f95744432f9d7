"""Read the released results of "Kiss up, Kick down" (EMNLP 2024), Study 2.

The paper's repository (RSS-researcher/LLM_visual_persona, folder ``Results/``) holds one xlsx
file per repetition and model, one row per game (35 x 35 ordered image pairs), and the
proposer's / responder's texts of each of the four rounds with GPT-4o's extraction of the claim
and the acceptance. :func:`read_study2` turns one model's files into one tidy row per proposal;
:func:`extractor_agreement` measures how well our offline extractor
(:mod:`scenarios.extract`) reproduces the paper's GPT-4o labels.

Expected layout of ``results_dir`` (the layout of the paper's ``Results/`` folder)::

    results_dir/
      study2_image_folders.csv          model,image_id,folder
      study2_gpt4o/study2_gpt_{1..5}.xlsx
      study2_claude3_haiku/study2_haiku_{1..5}.xlsx
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from scenarios.errors import InputError
from scenarios.extract import extract_acceptance, extract_claim

PIE = 100.0
ROUNDS = 4

#: canonical model name -> (subfolder, value of the csv's ``model`` column)
MODELS: dict[str, tuple[str, str]] = {
    "gpt-4o": ("study2_gpt4o", "gpt-4o"),
    "claude-3-haiku": ("study2_claude3_haiku", "claude-3-haiku"),
}

_ALIASES: dict[str, str] = {
    "gpt-4o": "gpt-4o",
    "gpt4o": "gpt-4o",
    "gpt": "gpt-4o",
    "study2_gpt4o": "gpt-4o",
    "claude-3-haiku": "claude-3-haiku",
    "claude3-haiku": "claude-3-haiku",
    "claude3_haiku": "claude-3-haiku",
    "claude-3-haiku-20240307": "claude-3-haiku",
    "anthropic.claude-3-haiku-20240307-v1:0": "claude-3-haiku",
    "haiku": "claude-3-haiku",
    "study2_claude3_haiku": "claude-3-haiku",
}

FOLDERS_CSV = "study2_image_folders.csv"

#: disagreement kinds, in report order, with a one-line meaning
CLAIM_KINDS: dict[str, str] = {
    "no_number_found": "the paper has a claim, the extractor found no proposal",
    "no_amount_in_text": "the paper has a claim for a text that names no amount at all",
    "responder_share_taken": "the extractor returned the responder's share (pie - label)",
    "picked_wrong_number": "the extractor returned another number than the paper",
    "label_not_numeric": "the paper's label is not a number but the extractor found a claim",
    "label_out_of_range": "the paper's label lies outside 0..pie (a labelling error)",
}
ACCEPTANCE_KINDS: dict[str, str] = {
    "acceptance_missed": "the paper has a label, the extractor could not read the reply",
    "label_on_empty_text": "the paper has a label for an empty reply",
    "acceptance_flipped": "the extractor read accept where the paper has reject, or vice versa",
    "label_not_binary": "the paper's label is neither 0 nor 1",
}

_REPETITION = re.compile(r"_(\d+)$")

COLUMNS = [
    "model", "file", "repetition", "row", "round",
    "proposer_image", "responder_image", "own", "opp",
    "proposal_text", "response_text", "paper_claim", "paper_accept",
]


def canonical_model(model: str) -> str:
    """Map a model name or alias ("gpt-4o", "haiku", the Bedrock id ...) to its canonical name."""
    key = str(model).strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    known = ", ".join(MODELS)
    raise InputError(f"unknown paper model {model!r} (expected one of: {known})")


def _image_folders(results_dir: Path, csv_model: str) -> dict[int, int]:
    path = results_dir / FOLDERS_CSV
    if not path.is_file():
        raise InputError(f"{path}: missing (expected columns model,image_id,folder)")
    table = pd.read_csv(path)
    missing = {"model", "image_id", "folder"} - set(table.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    table = table[table["model"].astype(str).str.strip().str.lower() == csv_model.lower()]
    if table.empty:
        raise InputError(f"{path}: no rows for model {csv_model!r}")
    return {int(i): int(f) for i, f in zip(table["image_id"], table["folder"])}


def _files(folder: Path) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        raise InputError(f"{folder}: missing results folder")
    found: list[tuple[int, Path]] = []
    for path in folder.glob("*.xlsx"):
        if path.name.startswith("~$"):  # Excel lock files
            continue
        match = _REPETITION.search(path.stem)
        if match:
            found.append((int(match.group(1)), path))
    if not found:
        raise InputError(f"{folder}: no study2_*_N.xlsx files")
    return sorted(found)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _number(value: Any) -> float:
    """A label as a float; NaN when it is not a number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip().lstrip("$").replace(",", ""))
    except (TypeError, ValueError):
        return math.nan


def _binary(value: Any) -> float:
    number = _number(value)
    return number if number in (0.0, 1.0) else math.nan


def read_study2(results_dir: Path | str, model: str) -> pd.DataFrame:
    """One tidy row per proposal of one model's Study 2 files.

    Columns: ``model``, ``file`` (file name), ``repetition`` (1..5, from the file name), ``row``
    (0-based data row of the game in its file), ``round`` (1..4), ``proposer_image`` /
    ``responder_image`` (image ids of who proposes / responds in that round: the file's
    ``proposer`` column proposes in rounds 1 and 3, its ``responder`` in rounds 2 and 4),
    ``own`` / ``opp`` (the proposer's / responder's image folder level 1..7), ``proposal_text``
    (``text_{2r-1}``), ``response_text`` (``text_{2r}``), ``paper_claim`` (the paper's claim for
    the proposer as a float, NaN when not a number) and ``paper_accept`` (1.0 / 0.0, NaN when
    neither).
    """
    results_dir = Path(results_dir)
    name = canonical_model(model)
    subfolder, csv_model = MODELS[name]
    folders = _image_folders(results_dir, csv_model)
    records: list[dict[str, Any]] = []
    for repetition, path in _files(results_dir / subfolder):
        try:
            games = pd.read_excel(path, engine="openpyxl")
        except Exception as exc:  # a broken or foreign file: name it, no traceback
            raise InputError(f"{path}: cannot read as xlsx ({exc})") from None
        needed = {"proposer", "responder"}
        for r in range(1, ROUNDS + 1):
            needed |= {f"text_{2 * r - 1}", f"text_{2 * r}",
                       f"proposal_amount_round_{r}", f"proposal_acceptance_round_{r}"}
        missing = needed - set(games.columns)
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for row, game in enumerate(games.to_dict("records")):
            first, second = int(game["proposer"]), int(game["responder"])
            for r in range(1, ROUNDS + 1):
                proposer, responder = (first, second) if r % 2 == 1 else (second, first)
                records.append({
                    "model": name,
                    "file": path.name,
                    "repetition": repetition,
                    "row": row,
                    "round": r,
                    "proposer_image": proposer,
                    "responder_image": responder,
                    "own": folders.get(proposer),
                    "opp": folders.get(responder),
                    "proposal_text": _text(game[f"text_{2 * r - 1}"]),
                    "response_text": _text(game[f"text_{2 * r}"]),
                    "paper_claim": _number(game[f"proposal_amount_round_{r}"]),
                    "paper_accept": _binary(game[f"proposal_acceptance_round_{r}"]),
                })
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    for column in ("own", "opp"):
        frame[column] = frame[column].astype("Int64")
    return frame


def _same(a: float, b: float) -> bool:
    return abs(a - b) < 1e-6


# A proposer's message that answers the other player's proposal ("I must decline your 70/30
# offer ... a 60/40 split would be fairer"): the paper's labeller read some of these as the
# other player's proposal and some as the writer's counter-offer, so neither reading agrees.
_REPLY_LIKE = re.compile(
    r"\b(?:i|we)\b(?:\s(?!you\b)[\w,']+){0,4}?\s(?:accept|decline|reject|refuse)\w*\s"
    r"(?:[\w-]+\s){0,3}?(?:your|this|that|the)\s(?:[\w/:%$.-]+\s){0,4}?(?:proposal|offer|split"
    r"|division|terms|counter\w*)|\bas the responder\b|\b(?:i|we) (?:cannot|can not|could not"
    r"|will not) (?:in good conscience )?(?:accept|agree)\b|\byou (?:proposed|suggested"
    r"|have proposed|propose\?)|\b(?:consider|weigh|ponder|contemplat)\w* (?:the|your) (?:[\w-]+ )?"
    r"(?:proposal|offer|counter\w*)", re.IGNORECASE)
# A responder's reply that, after its decision, makes a proposal of its own ("I accept.
# ===round2=== I propose $70 for me ..."): the labeller's verdict on these is unstable.
_REPLY_THEN_PROPOSES = re.compile(
    r"=+\s*\[?round|round\s?#?\s?\d\s?=+|\bmy turn\b|\b(?:i|we)\s(?:\w+\s){0,3}?(?:propose"
    r"|suggest|counter)|\bhow about\b|\bmy (?:counter-?)?(?:proposal|offer)\b", re.IGNORECASE)
_ANY_AMOUNT = re.compile(
    r"\d|\b(?:zero|ten|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|half"
    r"|even|equal|evenly|equally)\b", re.IGNORECASE)


def is_reply_like_proposal(text: str) -> bool:
    """Does a proposer's message read as an answer to the other player's proposal?"""
    return bool(_REPLY_LIKE.search(text or ""))


def is_reply_with_own_proposal(text: str) -> bool:
    """Does a responder's reply go on to make a proposal of its own?"""
    return bool(_REPLY_THEN_PROPOSES.search(text or ""))


def classify_claim(extracted: float | None, label: float, pie: float = PIE,
                   text: str | None = None) -> str | None:
    """The disagreement kind between an extracted claim and a paper label, None if they agree.

    With the proposal `text`, a missing claim on a text that names no amount at all is told
    apart ("no_amount_in_text") from one the extractor missed ("no_number_found")."""
    if label != label:  # NaN: the paper has no number
        return None if extracted is None else "label_not_numeric"
    if not 0.0 <= label <= pie:
        return "label_out_of_range"
    if extracted is None:
        if text is not None and not _ANY_AMOUNT.search(text):
            return "no_amount_in_text"
        return "no_number_found"
    if _same(extracted, label):
        return None
    if _same(extracted, pie - label):
        return "responder_share_taken"
    return "picked_wrong_number"


def classify_acceptance(extracted: bool | None, label: float,
                        text: str | None = None) -> str | None:
    """The disagreement kind between an extracted acceptance and a paper label, or None.

    With the reply `text`, a label on an empty reply is told apart ("label_on_empty_text")."""
    if label != label:
        return None if extracted is None else "label_not_binary"
    if extracted is None:
        if text is not None and not text.strip():
            return "label_on_empty_text"
        return "acceptance_missed"
    return None if float(extracted) == label else "acceptance_flipped"


def disagreements(df: pd.DataFrame, pie: float = PIE) -> pd.DataFrame:
    """Every disagreement of the extractor with the paper, one row each.

    Columns: the index of ``df`` as ``index``, ``file``, ``row`` and ``round`` when ``df`` has
    them, ``measure`` ("claim" / "acceptance"), ``kind``, ``ambiguous`` (the text is of a sort
    the paper's labeller itself read inconsistently: a proposal that reads as a reply, a reply
    that goes on to propose), ``extracted``, ``label`` and ``text``.
    """
    out: list[dict[str, Any]] = []
    has = [c for c in ("file", "row", "round") if c in df.columns]
    for index, rec in zip(df.index, df.to_dict("records")):
        where = {c: rec[c] for c in has}
        text = rec.get("proposal_text", "") or ""
        got = extract_claim(text, pie)
        kind = classify_claim(got, float(rec["paper_claim"]), pie, text)
        if kind:
            out.append({"index": index, **where, "measure": "claim", "kind": kind,
                        "ambiguous": is_reply_like_proposal(text),
                        "extracted": got, "label": rec["paper_claim"], "text": text})
        text = rec.get("response_text", "") or ""
        said = extract_acceptance(text)
        kind = classify_acceptance(said, float(rec["paper_accept"]), text)
        if kind:
            out.append({"index": index, **where, "measure": "acceptance", "kind": kind,
                        "ambiguous": is_reply_with_own_proposal(text),
                        "extracted": said, "label": rec["paper_accept"], "text": text})
    columns = ["index", *has, "measure", "kind", "ambiguous", "extracted", "label", "text"]
    return pd.DataFrame.from_records(out, columns=columns)


def extractor_agreement(df: pd.DataFrame, pie: float = PIE, found: pd.DataFrame | None = None,
                        detail: bool = False) -> dict[str, Any]:
    """Agreement of :func:`extract_claim` / :func:`extract_acceptance` with the paper's labels.

    ``df`` is a frame from :func:`read_study2` (columns ``proposal_text``, ``response_text``,
    ``paper_claim``, ``paper_accept``). Every row counts: a claim agrees when the extracted
    number equals the label exactly (or both are missing); an acceptance agrees when the
    extracted bool equals the 0/1 label (or both are missing). ``found`` may pass a frame
    already computed by :func:`disagreements`.

    Returns ``{"claim": fraction, "acceptance": fraction, "n_claim": n, "n_acceptance": n,
    "disagreements": {kind: count}}`` with every kind of :data:`CLAIM_KINDS` and
    :data:`ACCEPTANCE_KINDS` (zero counts included). With ``detail=True`` it adds
    ``"ambiguous": {"claim": n, "acceptance": n}`` (disagreements on texts the paper's labeller
    itself read inconsistently, see :func:`disagreements`) and ``"claim_unambiguous"`` /
    ``"acceptance_unambiguous"`` (agreement on the other texts).
    """
    n = int(len(df))
    if found is None:
        found = disagreements(df, pie)
    counts = {kind: 0 for kind in (*CLAIM_KINDS, *ACCEPTANCE_KINDS)}
    for kind, count in found["kind"].value_counts().items():
        counts[str(kind)] = int(count)
    result: dict[str, Any] = {"n_claim": n, "n_acceptance": n}
    ambiguous: dict[str, int] = {}
    for measure, column, flag in (("claim", "proposal_text", is_reply_like_proposal),
                                  ("acceptance", "response_text", is_reply_with_own_proposal)):
        wrong = found[found["measure"] == measure]
        result[measure] = (n - len(wrong)) / n if n else math.nan
        ambiguous[measure] = int(wrong["ambiguous"].sum())
        n_ambiguous = int(df[column].fillna("").map(flag).sum()) if n else 0
        clear = n - n_ambiguous
        result[f"{measure}_unambiguous"] = (
            (clear - (len(wrong) - ambiguous[measure])) / clear if clear else math.nan)
    result["disagreements"] = counts
    result["ambiguous"] = ambiguous
    keys = ["claim", "acceptance", "n_claim", "n_acceptance", "disagreements"]
    if detail:
        keys += ["ambiguous", "claim_unambiguous", "acceptance_unambiguous"]
    return {k: result[k] for k in keys}

"""How sure a reading of free text is: the value read, the words it was read from, a score and
the reason for it, so callers abstain (or ask an LLM) rather than guess on unclear texts.

The scores are coarse on purpose: each reason names a kind of evidence, and the score orders the
kinds; :data:`THRESHOLD` separates the readings a run trusts from those it abstains on.
"""
from __future__ import annotations

from dataclasses import dataclass

#: readings scored below this are abstentions ("ambiguous")
THRESHOLD = 0.5
EVIDENCE_CHARS = 160  # an evidence span is cut to this many characters


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading: `value` (a claim, True/False for accept/reject, or None), `confidence` in
    0..1, `evidence` (the words it rests on, normalised text) and `reason` (why that score)."""

    value: float | bool | None
    confidence: float
    evidence: str
    reason: str

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must lie in 0..1, got {self.confidence!r}")

    @property
    def sure(self) -> bool:
        """Whether a run may act on this reading without asking anyone."""
        return self.confidence >= THRESHOLD


def span(text: str, start: int, end: int, pad: int = 30) -> str:
    """The evidence around text[start:end], with a little context, on one line."""
    a, b = max(0, start - pad), min(len(text), end + pad)
    piece = " ".join(text[a:b].split())
    return piece[:EVIDENCE_CHARS]


def unreadable(reason: str = "not a text") -> Reading:
    """A reading of something that is not text at all: nothing read."""
    return Reading(None, 0.0, "", reason)


HINT = ("An automatic reader was unsure of this dialogue ({reason}). It read {value} from these "
        "words: \"{evidence}\". Read the whole dialogue yourself and answer as instructed above.")


def hint(reading: Reading, proposing: bool) -> str:
    """What an unsure reading says, for the LLM extractor that settles it (hybrid mode): the
    reason (with the candidates, when there were several), the best guess and its evidence."""
    if reading.value is None:
        value = "nothing"
    elif proposing:
        value = f"a claim of {float(reading.value):g}"  # type: ignore[arg-type]
    else:
        value = "an acceptance (1)" if reading.value else "a rejection (0)"
    return HINT.format(reason=reading.reason or "no reason given", value=value,
                       evidence=reading.evidence or "(none)")

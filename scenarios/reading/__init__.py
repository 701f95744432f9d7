"""Reading moves from free text, by game: each reading says what was read, from which words,
and how sure it is, so a caller can abstain (or ask an LLM) where the text is unclear.

Pure Python and :mod:`re`: deterministic, fast, and no reader ever raises.
"""
from __future__ import annotations

from scenarios.reading.acceptances import extract_acceptance, read_acceptance
from scenarios.reading.claims import extract_claim, read_claim
from scenarios.reading.confidence import THRESHOLD, Reading
from scenarios.reading.normalise import normalize

__all__ = ["Reading", "THRESHOLD", "extract_acceptance", "extract_claim", "normalize",
           "read_acceptance", "read_claim"]

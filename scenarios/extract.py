"""Offline free-text move extraction for the ultimatum game (kept where callers import it).

The readers live in :mod:`scenarios.reading` (normalising, claims, acceptances, confidence);
this module keeps the names callers have always imported.
"""
from __future__ import annotations

from scenarios.reading import (THRESHOLD, Reading, extract_acceptance, extract_claim, normalize,
                               read_acceptance, read_claim)

__all__ = ["Reading", "THRESHOLD", "extract_acceptance", "extract_claim", "normalize",
           "read_acceptance", "read_claim"]

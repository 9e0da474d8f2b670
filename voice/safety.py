"""The crisis spotter: runs on every transcript, before any intent, inside any dialog.

Recall matters more than precision here (DESIGN.md: the closed grammar alone caught only 73-80 % of
crisis phrases). So two layers: the crisis templates, and keywords on the raw words. A sure hit acts
at once; a weak one makes Lantern ask instead of guessing.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from voice.dialogs import Dialogs, SafetyKeywords
from voice.grammar import normalize
from voice.understand import Understander


class Concern(enum.Enum):
    NONE = "none"
    WEAK = "weak"
    """Might be a crisis: ask."""
    SURE = "sure"
    """Act now."""


class SafetySpotter:
    def __init__(self, dialogs: Dialogs):
        self._templates = Understander(dialogs.safety)
        self._keywords: SafetyKeywords = dialogs.keywords

    def check(self, text: str) -> Concern:
        words = normalize(text)
        if not words:
            return Concern.NONE
        if _contains_any(words, self._keywords.sure):
            return Concern.SURE
        match = self._templates.match(words, max_dropped=1)
        if match is not None and match.intent == "crisis":
            return Concern.SURE
        if _contains_any(words, self._keywords.weak):
            return Concern.WEAK
        return Concern.NONE


def _contains_any(words: str, phrases: Sequence[str]) -> bool:
    padded = f" {words} "
    return any(f" {normalize(p)} " in padded for p in phrases)

"""Text to intent: hassil template matching, tolerant of a stray word or two from the recogniser.

The recogniser is restricted to template phrases, but it can still insert a filler word or drop into
a neighbouring phrase. If the whole transcript does not match, we try it with one, then two words left
out; each word left out costs confidence. Anything further away is not understood: chatter and
out-of-domain requests must yield nothing rather than a wrong command.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

from hassil import Intents, recognize

from voice.grammar import normalize

_LOGGER = logging.getLogger(__name__)

MAX_DROPPED_WORDS = 2
"""How many recognised words may be left out to find a match."""


@dataclass(frozen=True)
class Match:
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    dropped_words: int = 0
    """Words of the transcript that had to be left out for the templates to match."""

    @property
    def confidence(self) -> float:
        return 1.0 / (1 + self.dropped_words)


def split_wake(text: str, wake_phrase: str) -> tuple[bool, str]:
    """(woke, the rest). The wake phrase may follow one stray word ("um hey lantern ...")."""
    words = normalize(text).split()
    wake = normalize(wake_phrase).split()
    for start in (0, 1):
        if words[start:start + len(wake)] == wake:
            return True, " ".join(words[start + len(wake):])
    return False, " ".join(words)


class Understander:
    """Matches text against one set of templates."""

    def __init__(self, intents: Intents):
        self._intents = intents

    def match(self, text: str, max_dropped: int = MAX_DROPPED_WORDS) -> Match | None:
        words = normalize(text).split()
        if not words:
            return None
        # Leaving out words is only fair when enough are left to mean something.
        max_dropped = min(max_dropped, max(0, (len(words) - 1) // 2))
        for dropped in range(max_dropped + 1):
            for keep in itertools.combinations(range(len(words)), len(words) - dropped):
                candidate = " ".join(words[i] for i in keep)
                result = recognize(candidate, self._intents)
                if result is not None:
                    slots = {name: slot.value for name, slot in result.entities.items()}
                    return Match(result.intent.name, slots, dropped)
        return None

"""Text to intent: hassil template matching, tolerant of a stray word or two from the recogniser.

The recogniser is restricted to template phrases, but it can still insert a filler word or drop into
a neighbouring phrase. If the whole transcript does not match, we try it with one, then two words left
out; each word left out costs confidence. Anything further away is not understood: chatter and
out-of-domain requests must yield nothing rather than a wrong command.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hassil import Intents, recognize

from voice.grammar import PhraseSampler, normalize, word_bounds

_LOGGER = logging.getLogger(__name__)

MAX_DROPPED_WORDS = 2
"""How many recognised words may be left out to find a match."""
FUZZY_SAMPLES_PER_INTENT = 4000
FUZZY_MIN_SIMILARITY = 0.67
"""Below this, a phrasing the templates do not cover is not understood rather than guessed.
Tuned on the corpus's dev split: out-of-domain requests stay rejected."""
HESITATIONS = frozenset({"um", "uh", "er", "erm", "hmm"})
"""Never carry meaning, wherever they fall."""
OPENERS = frozenset({"okay", "ok", "so", "well", "oh", "right"})
"""Carry no meaning at the start ("um okay so what's next"); templates allow at most one."""
GUESS_MIN_CONFIDENCE = 0.05
"""A transcript the recogniser believes less than this is matched to templates only, never guessed:
in noise, a doubtful transcript plus a guess made wrong commands."""


@dataclass(frozen=True)
class Match:
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    dropped_words: int = 0
    """Words of the transcript that had to be left out for the templates to match."""
    similarity: float = 1.0
    """1 for a template match; the word-overlap score for a nearest-phrase match."""

    @property
    def exact(self) -> bool:
        return self.dropped_words == 0 and self.similarity >= 1.0


def split_wake(text: str, wake_phrase: str) -> tuple[bool, str]:
    """(woke, the rest). The wake phrase may follow one stray word ("um hey lantern ...")."""
    words = normalize(text).split()
    wake = normalize(wake_phrase).split()
    for start in (0, 1):
        if words[start:start + len(wake)] == wake:
            return True, " ".join(words[start + len(wake):])
    return False, " ".join(words)


def without_fillers(text: str) -> str:
    """`text` normalised, without hesitations anywhere or openers at the start."""
    words = [word for word in normalize(text).split() if word not in HESITATIONS]
    start = 0
    while start < len(words) - 1 and words[start] in OPENERS:
        start += 1
    return " ".join(words[start:])


class Understander:
    """Matches text against one set of templates; with `fuzzy`, falls back to the nearest phrase."""

    def __init__(self, intents: Intents, fuzzy: bool = False, cache: Path | None = None):
        """`cache`: a file for the nearest-phrase sample (`fuzzy`), named after what it depends on."""
        self._intents = intents
        self._bounds = word_bounds(intents)
        self._nearest = NearestPhrase(intents, cache=cache) if fuzzy else None

    def match(self, text: str, max_dropped: int = MAX_DROPPED_WORDS, guess: bool = True) -> Match | None:
        """`text` without fillers (`without_fillers`) against the templates, then, if `guess`, the nearest
        phrase. `guess=False` allows template matches only (for transcripts the recogniser itself doubts)."""
        text = without_fillers(text)
        exact = self._template_match(text, max_dropped)
        if exact is not None or self._nearest is None or not guess:
            return exact
        return self._nearest.match(text)

    def _template_match(self, text: str, max_dropped: int) -> Match | None:
        words = normalize(text).split()
        if not words:
            return None
        # Leaving out words is only fair when enough are left to mean something.
        max_dropped = min(max_dropped, max(0, (len(words) - 1) // 2))
        for dropped in range(max_dropped + 1):
            for keep in itertools.combinations(range(len(words)), len(words) - dropped):
                kept = [words[i] for i in keep]
                if not self._bounds.admits(kept):
                    continue  # no template phrase looks like this: spare hassil (~5 ms a try)
                result = recognize(" ".join(kept), self._intents)
                if result is not None:
                    slots = {name: slot.value for name, slot in result.entities.items()}
                    return Match(result.intent.name, slots, dropped)
        return None


_INDEX_KEYS = ("vocab", "names", "words", "lengths", "labels")


def _index(sample: list[tuple[str, str]]) -> dict[str, np.ndarray]:
    """The sample as arrays: each phrase as its few word indices, all in one flat array (sparse: a
    dense phrase-by-word table took 50 MB, and a Python set or numpy array per phrase most of 100 MB
    at this size), with its length and its intent's index."""
    vocab: dict[str, int] = {}
    names: dict[str, int] = {}
    flat: list[int] = []
    lengths: list[int] = []
    labels: list[int] = []
    for name, phrase in sample:
        row = sorted({vocab.setdefault(word, len(vocab)) for word in phrase.split()})
        flat.extend(row)
        lengths.append(len(row))
        labels.append(names.setdefault(name, len(names)))
    return {"vocab": np.array(list(vocab)), "names": np.array(list(names)), "words": np.array(flat, dtype=np.int32),
            "lengths": np.array(lengths, dtype=np.int64), "labels": np.array(labels, dtype=np.int16)}


def _read_index(cache: Path | None) -> dict[str, np.ndarray] | None:
    """The cached index, or None if there is none or it is damaged (then it is sampled again)."""
    if cache is None or not cache.exists():
        return None
    try:
        with np.load(cache, allow_pickle=False) as data:
            index = {key: data[key] for key in _INDEX_KEYS}
    except Exception:  # unreadable, not an index, or cut short (zip, pickle and key errors alike)
        return None
    words, lengths, labels = index["words"], index["lengths"], index["labels"]
    whole = (len(lengths) > 0 and len(lengths) == len(labels) and int(lengths.sum()) == len(words)
             and (lengths > 0).all() and 0 <= words.min() and words.max() < len(index["vocab"])
             and 0 <= labels.min() and labels.max() < len(index["names"]))
    return index if whole else None


def _write_index(cache: Path | None, index: dict[str, np.ndarray]) -> None:
    if cache is None:
        return
    tmp = cache.with_name(cache.name + ".tmp.npz")
    np.savez(tmp, **index)
    tmp.chmod(0o600)
    os.replace(tmp, cache)  # atomic: a crash never leaves half an index behind


class NearestPhrase:
    """Nearest sampled template phrase by IDF-weighted word overlap (cosine).

    Templates never cover every way people talk (DESIGN.md: 78 % of unseen phrasings parsed). Words
    carry the meaning ("hug", "quieter", "therapist"), so an unseen phrasing is matched to the intent of
    the phrase sharing the most telling words, if it shares enough. Words Lantern has never seen count
    against the match, so a request from outside its world stays unmatched.
    """

    def __init__(self, intents: Intents, samples_per_intent: int = FUZZY_SAMPLES_PER_INTENT, seed: int = 1,
                 cache: Path | None = None):
        index = _read_index(cache)
        if index is None:
            # Sampling and indexing take most of a second at start-up: done once per set of templates,
            # then cached (loading the arrays takes a few milliseconds).
            sampler = PhraseSampler(intents, seed=seed)
            index = _index([(name, phrase) for name in intents.intents
                            for phrase in sampler.sample(name, samples_per_intent)])
            _write_index(cache, index)
        self._vocab: dict[str, int] = {str(word): i for i, word in enumerate(index["vocab"])}
        self._words = index["words"]
        counts = index["lengths"]
        self._starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        present = np.bincount(self._words, minlength=len(self._vocab))
        self._idf = np.log(len(counts) / present).astype(np.float32)
        weights = self._idf[self._words]
        norms = np.sqrt(np.add.reduceat(weights ** 2, self._starts))
        self._weights = weights / np.repeat(np.where(norms > 0, norms, 1.0), counts).astype(np.float32)
        self._names = [str(name) for name in index["names"]]
        self._labels = index["labels"]
        self._unknown_weight = float(self._idf.max())

    def match(self, text: str) -> Match | None:
        words = set(normalize(text).split())
        query = np.zeros(len(self._vocab), dtype=np.float32)
        unknown = 0.0
        for word in words:
            index = self._vocab.get(word)
            if index is None:
                unknown += self._unknown_weight ** 2
            else:
                query[index] = self._idf[index]
        norm = math.sqrt(float(query @ query) + unknown)
        if norm == 0.0:
            return None
        scores = np.add.reduceat(self._weights * query[self._words], self._starts) / norm
        best = int(np.argmax(scores))
        similarity = float(scores[best])
        intent = self._names[int(self._labels[best])]
        _LOGGER.debug("nearest phrase for %r: %s (%.2f)", text, intent, similarity)
        if similarity < FUZZY_MIN_SIMILARITY:
            return None
        return Match(intent, {}, 0, round(similarity, 3))

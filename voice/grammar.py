"""The phrases Lantern can hear, generated from the intent templates.

The speech recogniser is restricted to these phrases (DESIGN.md: closed vocabulary). Full expansion of
the templates runs to millions of sentences, so the language model is trained on a random sample that is
balanced per intent, drawn by walking hassil's parsed template tree.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Iterator, Mapping

from hassil import Intents
from hassil.expression import (
    Alternative,
    Expression,
    ListReference,
    Permutation,
    RuleReference,
    Sentence,
    Sequence,
    TextChunk,
)
from hassil.intents import SlotList, TextSlotList, TextSlotValue

_LOGGER = logging.getLogger(__name__)

_SKIP_OPTIONAL = 0.6


def normalize(text: str) -> str:
    """Lower case, punctuation out (apostrophes kept), single spaces: the form phrases and transcripts share."""
    out = []
    for ch in text.lower():
        if ch.isalnum() or ch == "'" or ch.isspace():
            out.append(ch)
        else:
            out.append(" ")
    return " ".join("".join(out).split())


class PhraseSampler:
    """Draws random sentences from one set of templates."""

    def __init__(self, intents: Intents, slot_lists: Mapping[str, SlotList] | None = None, seed: int = 0):
        self._intents = intents
        self._lists: dict[str, SlotList] = {**intents.slot_lists, **(slot_lists or {})}
        self._rng = random.Random(seed)

    def sample(self, intent_name: str, count: int) -> list[str]:
        """`count` random sentences of one intent (duplicates removed, so possibly fewer)."""
        intent = self._intents.intents[intent_name]
        choices: list[tuple[Sentence, dict[str, Sentence]]] = []
        for data in intent.data:
            rules = {**self._intents.expansion_rules, **data.expansion_rules}
            choices.extend((s, rules) for s in data.sentences)
        seen: dict[str, None] = {}
        for _ in range(count * 3):
            if len(seen) >= count:
                break
            sentence, rules = self._rng.choice(choices)
            text = normalize(" ".join(self._walk(sentence.expression, rules)))
            if text:
                seen[text] = None
        return list(seen)

    def _walk(self, expr: Expression, rules: Mapping[str, Sentence]) -> Iterator[str]:
        if isinstance(expr, TextChunk):
            yield expr.text
        elif isinstance(expr, Alternative):
            # An optional [x] is an alternative with an empty chunk. Real speech leaves optional fillers out
            # more often than not, so the sample does too.
            if expr.is_optional and self._rng.random() < _SKIP_OPTIONAL:
                return
            items = [i for i in expr.items if not (isinstance(i, TextChunk) and i.is_empty)] or list(expr.items)
            yield from self._walk(self._rng.choice(items), rules)
        elif isinstance(expr, Permutation):
            items = list(expr.items)
            self._rng.shuffle(items)
            for item in items:
                yield from self._walk(item, rules)
        elif isinstance(expr, Sequence):
            for item in expr.items:
                yield from self._walk(item, rules)
        elif isinstance(expr, RuleReference):
            yield from self._walk(rules[expr.rule_name].expression, rules)
        elif isinstance(expr, ListReference):
            yield from self._walk_list(expr, rules)
        else:  # pragma: no cover - hassil added an expression type we do not know
            raise TypeError(f"unsupported template expression: {type(expr).__name__}")

    def _walk_list(self, ref: ListReference, rules: Mapping[str, Sentence]) -> Iterator[str]:
        value = self._rng.choice(spoken_values(self._lists, ref))
        yield from self._walk(value.text_in, rules)


def spoken_values(lists: Mapping[str, SlotList], ref: ListReference) -> list[TextSlotValue]:
    """The values a template's {list} can be said as."""
    slot_list = lists.get(ref.list_name)
    if not isinstance(slot_list, TextSlotList) or not slot_list.values:
        raise ValueError(f"list {{{ref.list_name}}} has no text values to speak")
    return slot_list.values


def words_of(phrases: Iterable[str]) -> set[str]:
    """Every word used in the phrases."""
    words: set[str] = set()
    for phrase in phrases:
        words.update(phrase.split())
    return words


GRAMMAR_VERSION = "3"
"""Bump when the way phrases are sampled changes, so cached recogniser models are rebuilt."""
LM_SENTENCES_PER_INTENT = 3000
ANSWER_SENTENCES_PER_INTENT = 300
WAKE_ALONE_COPIES = 400


def recognizer_corpus(commands: Intents, safety: Intents, answers: Intents, other: Intents, wake_phrase: str,
                      slot_lists: Mapping[str, SlotList] | None = None, seed: int = 0) -> list[str]:
    """The sentences the recogniser is trained to expect, balanced per intent.

    Commands and crisis phrases come both after the wake phrase and alone (a follow-up needs no wake
    phrase); answers only alone; the wake phrase also alone (a pause before the command). Requests
    Lantern does not handle ("other") are in too, after the wake phrase, so they are heard as what they
    are instead of being bent into the nearest command.
    """
    wake = normalize(wake_phrase)
    corpus: list[str] = [wake] * WAKE_ALONE_COPIES
    for intents in (commands, safety, other):
        sampler = PhraseSampler(intents, slot_lists, seed)
        for name in intents.intents:
            phrases = sampler.sample(name, LM_SENTENCES_PER_INTENT)
            half = len(phrases) // 2
            corpus.extend(f"{wake} {p}" for p in phrases[:half])
            corpus.extend(phrases[half:])
    sampler = PhraseSampler(answers, slot_lists, seed)
    for name in answers.intents:
        corpus.extend(sampler.sample(name, ANSWER_SENTENCES_PER_INTENT))
    return corpus

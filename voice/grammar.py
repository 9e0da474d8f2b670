"""The phrases Lantern can hear, generated from the intent templates.

The speech recogniser is restricted to these phrases (DESIGN.md: closed vocabulary). Full expansion of
the templates runs to millions of sentences, so the language model is trained on a random sample that is
balanced per intent, drawn by walking hassil's parsed template tree.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

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
        self._seed = seed
        self._rng = random.Random(seed)

    def sample(self, intent_name: str, count: int) -> list[str]:
        """`count` random sentences of one intent (duplicates removed, so possibly fewer). Each intent
        draws from its own generator: with one for all, a template added to one intent changed every
        later intent's sample, and so what the nearest-phrase guess and the recogniser made of
        phrasings nobody had touched (dev split: 3 commands lost, as text, to one intent's new
        templates)."""
        self._rng = random.Random(f"{self._seed}:{intent_name}")
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


GRAMMAR_VERSION = "4"
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


@dataclass(frozen=True)
class WordBounds:
    """What any phrase of a template set must look like, word by word: a cheap test that rules out
    most word sequences before hassil's (slow) matcher sees them. Over-approximate, never under."""

    first: frozenset[str]
    last: frozenset[str]
    pairs: frozenset[tuple[str, str]]
    """Every two words that can follow each other."""
    longest: int
    """The most words a phrase can have."""

    def admits(self, words: list[str]) -> bool:
        return (0 < len(words) <= self.longest and words[0] in self.first and words[-1] in self.last
                and all(pair in self.pairs for pair in zip(words, words[1:])))


@dataclass
class _Span:
    first: set[str]
    last: set[str]
    pairs: set[tuple[str, str]]
    nullable: bool
    longest: int


def word_bounds(intents: Intents, slot_lists: Mapping[str, SlotList] | None = None) -> WordBounds:
    lists = {**intents.slot_lists, **(slot_lists or {})}
    spans = []
    for intent in intents.intents.values():
        for data in intent.data:
            rules = {**intents.expansion_rules, **data.expansion_rules}
            spans.extend(_span(sentence.expression, rules, lists) for sentence in data.sentences)
    total = _either(spans)
    # "{partner}'s" is two chunks ("sam", "'s") that are said, and transcribed, as one word "sam's".
    for a, b in [pair for pair in total.pairs if pair[1].startswith("'")]:
        glued = a + b
        if a in total.first:
            total.first.add(glued)
        if b in total.last:
            total.last.add(glued)
        total.pairs |= {(x, glued) for x, y in total.pairs if y == a} | {(glued, y) for x, y in total.pairs if x == b}
    return WordBounds(frozenset(total.first), frozenset(total.last), frozenset(total.pairs), total.longest)


def _span(expr: Expression, rules: Mapping[str, Sentence], lists: Mapping[str, SlotList]) -> _Span:
    if isinstance(expr, TextChunk):
        words = normalize(expr.text).split()
        if not words:
            return _Span(set(), set(), set(), True, 0)
        return _Span({words[0]}, {words[-1]}, set(zip(words, words[1:])), False, len(words))
    if isinstance(expr, RuleReference):
        return _span(rules[expr.rule_name].expression, rules, lists)
    if isinstance(expr, ListReference):
        return _either([_span(v.text_in, rules, lists) for v in spoken_values(lists, expr)])
    if isinstance(expr, Alternative):
        return _either([_span(item, rules, lists) for item in expr.items])
    spans = [_span(item, rules, lists) for item in expr.items]
    if isinstance(expr, Permutation):  # any order: every item may come first, last, or after another
        every = _either(spans)
        return _Span(every.first, every.last, every.pairs | {(a, b) for a in every.last for b in every.first},
                     all(s.nullable for s in spans), sum(s.longest for s in spans))
    if isinstance(expr, Sequence):
        out = _Span(set(), set(), set(), True, 0)
        for span in spans:
            out = _Span(out.first | span.first if out.nullable else out.first,
                        span.last | out.last if span.nullable else span.last,
                        out.pairs | span.pairs | {(a, b) for a in out.last for b in span.first},
                        out.nullable and span.nullable, out.longest + span.longest)
        return out
    raise TypeError(f"unsupported template expression: {type(expr).__name__}")  # pragma: no cover


def _either(spans: list[_Span]) -> _Span:
    out = _Span(set(), set(), set(), False, 0)
    for span in spans:
        out.first |= span.first
        out.last |= span.last
        out.pairs |= span.pairs
        out.nullable = out.nullable or span.nullable
        out.longest = max(out.longest, span.longest)
    return out

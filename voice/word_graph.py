"""The templates as one small word graph: every whole phrase Lantern knows, and nothing else.

The language model lets the recogniser string words in orders no template has ("today has been a
riddle"); in a voice it hears badly that is most of its mistakes. Re-hearing such an utterance against
this graph returns only whole phrases. Its cost is rejection: it always finds *some* phrase, so its
answer is only taken when it sounds like what the language model heard (pipeline.SECOND_HEARING_MIN_ALIKE).

DESIGN.md: the template language flattened is millions of phrases, but built as a graph and minimised
it is about 1 500 states, which pocketsphinx searches at ~0.1x real time.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

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
from hassil.intents import SlotList

from voice.grammar import normalize, spoken_values

Arc = tuple[int, int, str | None]
"""(from state, to state, word); no word is a free (null) move."""


class WordGraph:
    """A finite automaton over words, built from template trees."""

    def __init__(self) -> None:
        self.states = 1
        self.start = 0
        self.finals: set[int] = set()
        self.arcs: list[Arc] = []

    def new_state(self) -> int:
        self.states += 1
        return self.states - 1

    def add_words(self, start: int, words: Iterable[str]) -> int:
        state = start
        for word in words:
            nxt = self.new_state()
            self.arcs.append((state, nxt, word))
            state = nxt
        return state

    def add_intents(self, start: int, intents: Intents, slot_lists: Mapping[str, SlotList] | None = None) -> None:
        """Every sentence of every intent, from `start` to a final state."""
        lists = {**intents.slot_lists, **(slot_lists or {})}
        for intent in intents.intents.values():
            for data in intent.data:
                rules = {**intents.expansion_rules, **data.expansion_rules}
                for sentence in data.sentences:
                    self.finals.add(self._add(sentence.expression, start, rules, lists))

    def _add(self, expr: Expression, start: int, rules: Mapping[str, Sentence], lists: Mapping[str, SlotList]) -> int:
        """Thompson construction: returns the state where `expr` ends."""
        if isinstance(expr, TextChunk):
            return self.add_words(start, normalize(expr.text).split())
        if isinstance(expr, RuleReference):
            return self._add(rules[expr.rule_name].expression, start, rules, lists)
        if isinstance(expr, ListReference):
            return self._join(start, (v.text_in for v in spoken_values(lists, expr)), rules, lists)
        if isinstance(expr, Permutation):  # (a;b): every order
            end = self.new_state()
            for order in itertools.permutations(expr.items):
                state = start
                for item in order:
                    state = self._add(item, state, rules, lists)
                self.arcs.append((state, end, None))
            return end
        if isinstance(expr, Alternative):
            return self._join(start, expr.items, rules, lists)
        if isinstance(expr, Sequence):
            state = start
            for item in expr.items:
                state = self._add(item, state, rules, lists)
            return state
        raise TypeError(f"unsupported template expression: {type(expr).__name__}")  # pragma: no cover

    def _join(self, start: int, items: Iterable[Expression], rules: Mapping[str, Sentence],
              lists: Mapping[str, SlotList]) -> int:
        end = self.new_state()
        for item in items:
            self.arcs.append((self._add(item, start, rules, lists), end, None))
        return end

    def minimal(self) -> WordGraph:
        """The smallest deterministic graph with the same phrases (Brzozowski: determinise the reverse,
        twice). Without this the graph is ten times larger and the search slower."""
        arcs, starts, finals, count = _determinise(_reverse(self.arcs), set(self.finals), {self.start})
        arcs, starts, finals, count = _determinise(_reverse(arcs), finals, starts)
        graph = WordGraph()
        graph.states, graph.arcs, graph.finals = count, arcs, finals
        graph.start = next(iter(starts))
        return graph

    def accepts(self, words: list[str]) -> bool:
        """Is this exact phrase in the graph? (For tests.)"""
        null_moves, moves = _null_moves(self.arcs), _word_moves(self.arcs)
        current = _closure({self.start}, null_moves)
        for word in words:
            current = _closure({to for s in current for w, to in moves.get(s, ()) if w == word}, null_moves)
        return bool(current & self.finals)

    def write_fsg(self, path: Path, name: str = "lantern") -> None:
        """pocketsphinx's FSG text format: one final state, each state's arcs equally likely."""
        final = self.states
        arcs = [*self.arcs, *((f, final, None) for f in sorted(self.finals))]
        out_degree: dict[int, int] = {}
        for source, _, _ in arcs:
            out_degree[source] = out_degree.get(source, 0) + 1
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(f"FSG_BEGIN {name}\nNUM_STATES {final + 1}\nSTART_STATE {self.start}\nFINAL_STATE {final}\n")
            for source, target, word in arcs:
                fh.write(f"TRANSITION {source} {target} {1.0 / out_degree[source]:.6f}{'' if word is None else ' ' + word}\n")
            fh.write("FSG_END\n")
        os.replace(tmp, path)


def phrase_graph(wake_phrase: str, *intent_sets: Intents, slot_lists: Mapping[str, SlotList] | None = None) -> WordGraph:
    """The wake phrase alone; or, after an optional wake phrase, any phrase of the intent sets."""
    graph = WordGraph()
    after_wake = graph.add_words(graph.start, normalize(wake_phrase).split())
    graph.arcs.append((graph.start, after_wake, None))
    graph.finals.add(after_wake)
    for intents in intent_sets:
        graph.add_intents(after_wake, intents, slot_lists)
    return graph.minimal()


def _reverse(arcs: list[Arc]) -> list[Arc]:
    return [(target, source, word) for source, target, word in arcs]


def _null_moves(arcs: list[Arc]) -> dict[int, list[int]]:
    moves: dict[int, list[int]] = {}
    for source, target, word in arcs:
        if word is None:
            moves.setdefault(source, []).append(target)
    return moves


def _word_moves(arcs: list[Arc]) -> dict[int, list[tuple[str, int]]]:
    moves: dict[int, list[tuple[str, int]]] = {}
    for source, target, word in arcs:
        if word is not None:
            moves.setdefault(source, []).append((word, target))
    return moves


def _closure(states: set[int], null_moves: Mapping[int, list[int]]) -> frozenset[int]:
    seen, stack = set(states), list(states)
    while stack:
        for target in null_moves.get(stack.pop(), ()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return frozenset(seen)


def _determinise(arcs: list[Arc], starts: set[int], finals: set[int]) -> tuple[list[Arc], set[int], set[int], int]:
    """Subset construction (null moves folded in). Returns arcs, start states, final states, state count."""
    null_moves, word_moves = _null_moves(arcs), _word_moves(arcs)
    first = _closure(starts, null_moves)
    ids = {first: 0}
    queue = [first]
    out_arcs: list[Arc] = []
    out_finals: set[int] = set()
    while queue:
        subset = queue.pop()
        source = ids[subset]
        if subset & finals:
            out_finals.add(source)
        targets: dict[str, set[int]] = {}
        for state in subset:
            for word, target in word_moves.get(state, ()):
                targets.setdefault(word, set()).add(target)
        for word in sorted(targets):
            closed = _closure(targets[word], null_moves)
            if closed not in ids:
                ids[closed] = len(ids)
                queue.append(closed)
            out_arcs.append((source, ids[closed], word))
    return out_arcs, {0}, out_finals, len(ids)

"""Timers on an injected clock (stream seconds in the pipeline, wall seconds in chat)."""

from __future__ import annotations

import heapq
import itertools


class Timers:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str]] = []
        self._order = itertools.count()

    def start(self, name: str, due_seconds: float) -> None:
        heapq.heappush(self._heap, (due_seconds, next(self._order), name))

    def cancel_all(self) -> None:
        self._heap.clear()

    def pop_due(self, now_seconds: float) -> list[str]:
        """Names of timers due by now, earliest first, removed."""
        due = []
        while self._heap and self._heap[0][0] <= now_seconds:
            due.append(heapq.heappop(self._heap)[2])
        return due

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

"""`lantern chat`: the same brain, typed text in, printed text out. Works piped.

Typed lines are always "heard clearly"; the wake phrase is still needed, as in the kitchen, except
to answer a question Lantern just asked. Timers run on the wall clock; when input ends, pending
timers (up to a minute away) are played out at once, so `echo ... | lantern chat` shows the whole hug.
"""

from __future__ import annotations

import time
from typing import TextIO

from voice.app import build_brain
from voice.config import Config
from voice.dialog import Action, CancelTimers, Listen, Speak, StartTimer
from voice.timers import Timers

MAX_PLAYOUT_SECONDS = 60.0


def chat(config: Config, lines: TextIO, out: TextIO) -> None:
    works = build_brain(config)
    conversation = works.conversation
    timers = Timers()
    window = False
    start = time.monotonic()

    def act(actions: list[Action], now: float) -> bool:
        opens_window = False
        for action in actions:
            if isinstance(action, Speak):
                out.write(f"lantern: {action.text}\n")
                opens_window = opens_window or action.asks is not None
            elif isinstance(action, StartTimer):
                timers.start(action.name, now + action.seconds)
            elif isinstance(action, CancelTimers):
                timers.cancel_all()
            elif isinstance(action, Listen):
                out.write("lantern: (listening)\n")
                opens_window = True
        out.flush()
        return opens_window

    def fire_due(now: float) -> None:
        for name in timers.pop_due(now):
            act(conversation.brain.on_timer(name), now)

    for line in lines:
        now = time.monotonic() - start
        fire_due(now)
        text = line.strip()
        if not text:
            continue
        heard = conversation.hear(text, in_window=window)
        if not heard.for_us:
            out.write("lantern: (not addressed to me: say the wake phrase first)\n")
            continue
        window = act(heard.actions, now)
    now = time.monotonic() - start
    deadline = now + MAX_PLAYOUT_SECONDS
    while (due := timers.next_due()) is not None and due <= deadline:
        fire_due(due)

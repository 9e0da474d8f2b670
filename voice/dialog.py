"""The brain: given an event and its own state, decide what to say and do. No audio, no devices.

Handlers return actions; the pipeline carries them out (speaks, starts timers). One small handler
per intent, found by name, so a new ritual is a response key and a function, not another elif.
"""

from __future__ import annotations

import enum
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from voice.config import Config, Helpline
from voice.dialogs import Dialogs
from voice.understand import Match

_LOGGER = logging.getLogger(__name__)

VOLUME_STEP = 0.2
MIN_VOLUME = 0.2
MAX_VOLUME = 1.0
HUG_SECONDS = 10.0
TALK_TIME_SECONDS = 30 * 60.0
BREATH_SECONDS = 4.0
NIGHT_HOURS = range(22, 24), range(0, 7)
PRERENDERED = ("listening", "not_understood", "stopped", "hug_half", "crisis_confirm")
"""Response keys rendered at start-up (`Brain.fixed_lines`), so the first reply is as quick as the rest."""


# --- actions: what the pipeline should do -------------------------------------------------------


@dataclass(frozen=True)
class Speak:
    text: str
    asks: "Question | None" = None
    """Set when this is a question: the answer needs no wake phrase."""


@dataclass(frozen=True)
class StartTimer:
    name: str
    seconds: float


@dataclass(frozen=True)
class CancelTimers:
    pass


@dataclass(frozen=True)
class SetVolume:
    volume: float


@dataclass(frozen=True)
class Listen:
    """Open the follow-up window without saying anything but a chime (after a bare wake phrase)."""


Action = Speak | StartTimer | CancelTimers | SetVolume | Listen


class Question(enum.Enum):
    RATING = "rating"
    OFFER_BREATHING = "offer_breathing"
    CRISIS_CONFIRM = "crisis_confirm"


# --- the brain ------------------------------------------------------------------------------------


class Brain:
    def __init__(self, dialogs: Dialogs, config: Config, rng: random.Random | None = None,
                 clock: Callable[[], datetime] = datetime.now):
        self._responses = dialogs.responses
        self._config = config
        self._rng = rng or random.Random()
        self._clock = clock
        self.volume = config.tts.volume
        self.question: Question | None = None
        self.last_said: str | None = None
        self._handlers: dict[str, Callable[[Match], list[Action]]] = {
            name.removeprefix("_on_"): getattr(self, name) for name in dir(self) if name.startswith("_on_")
        }
        missing = set(dialogs.commands.intents) - set(self._handlers)
        if missing:
            raise ValueError(f"intents without a dialog handler: {', '.join(sorted(missing))}")

    # Events in ------------------------------------------------------------------------------------

    def on_command(self, match: Match) -> list[Action]:
        self.question = None
        return self._handlers[match.intent](match)

    def on_answer(self, match: Match | None) -> list[Action]:
        """An utterance in the follow-up window that was not a command: the answer to our question."""
        question, self.question = self.question, None
        if question is Question.RATING and match is not None and match.intent == "rating":
            return self._rated(int(match.slots["rating"]))
        if question is Question.OFFER_BREATHING and match is not None and match.intent == "affirm":
            return self._on_breathing(match)
        if question is Question.CRISIS_CONFIRM:
            if match is not None and match.intent == "affirm":
                return self.on_crisis()
            return self._say("crisis_declined")
        if question is Question.RATING:
            return self._say("checkin_no_answer")
        return self._say("stopped") if match is not None and match.intent == "deny" else self._say("not_understood")

    def on_wake_only(self) -> list[Action]:
        return [Listen()]

    def on_out_of_reach(self) -> list[Action]:
        return self._say("out_of_reach")

    def on_not_understood(self) -> list[Action]:
        return self._say("not_understood")

    def on_crisis(self) -> list[Action]:
        """Someone may be in danger. Stops everything else, every time, at any hour."""
        self.question = None
        text = self._responses.say("crisis", self._rng, helplines=self._helplines_text())
        return [CancelTimers(), *self._speak(text)]

    def on_crisis_unsure(self) -> list[Action]:
        return [CancelTimers(), *self._say("crisis_confirm", asks=Question.CRISIS_CONFIRM)]

    def on_timer(self, name: str) -> list[Action]:
        handler = getattr(self, f"_timer_{name}", None)
        if handler is None:
            _LOGGER.warning("timer %s has no handler", name)
            return []
        return handler()

    # Intents --------------------------------------------------------------------------------------

    def _on_hug(self, match: Match) -> list[Action]:
        return [CancelTimers(), *self._say("hug_start"), StartTimer("hug_half", HUG_SECONDS / 2),
                StartTimer("hug_done", HUG_SECONDS)]

    def _timer_hug_half(self) -> list[Action]:
        return self._say("hug_half")

    def _timer_hug_done(self) -> list[Action]:
        return self._say("hug_done")

    def _on_appreciation(self, match: Match) -> list[Action]:
        named = match.slots.get("partner")
        partner = str(named).title() if named else self._rng.choice(self._config.household.partners)
        return self._say("appreciation_named" if named else "appreciation", partner=partner)

    def _on_leave_note(self, match: Match) -> list[Action]:
        partner = str(match.slots.get("partner") or "your partner").title()
        return self._say("leave_note", partner=partner if partner != "Your Partner" else "your partner")

    def _on_play_notes(self, match: Match) -> list[Action]:
        return self._say("play_notes")

    def _on_checkin(self, match: Match) -> list[Action]:
        return self._say("checkin_ask", asks=Question.RATING)

    def _rated(self, rating: int) -> list[Action]:
        if rating <= 2:
            return self._say("checkin_low", asks=Question.OFFER_BREATHING)
        if rating == 3:
            return self._say("checkin_mid", asks=Question.OFFER_BREATHING)
        return self._say("checkin_high")

    def _on_breathing(self, match: Match) -> list[Action]:
        actions: list[Action] = [CancelTimers(), *self._say("breathing_start")]
        for i in range(3):
            actions.append(StartTimer("breathing_out", BREATH_SECONDS * (2 * i + 1)))
            if i < 2:
                actions.append(StartTimer("breathing_in", BREATH_SECONDS * (2 * i + 2)))
        actions.append(StartTimer("breathing_done", BREATH_SECONDS * 6 + 2))
        return actions

    def _timer_breathing_out(self) -> list[Action]:
        return self._say("breathing_out")

    def _timer_breathing_in(self) -> list[Action]:
        return self._say("breathing_in")

    def _timer_breathing_done(self) -> list[Action]:
        return self._say("breathing_done")

    def _on_talk_time(self, match: Match) -> list[Action]:
        opener = self._responses.say("openers", self._rng)
        return [CancelTimers(), *self._say("talk_time_start", opener=opener),
                StartTimer("talk_time_done", TALK_TIME_SECONDS)]

    def _timer_talk_time_done(self) -> list[Action]:
        return self._say("talk_time_done")

    def _on_conversation_starter(self, match: Match) -> list[Action]:
        return self._say("conversation_starter", opener=self._responses.say("openers", self._rng))

    def _on_repair(self, match: Match) -> list[Action]:
        return self._say("repair")

    def _on_shared_idea(self, match: Match) -> list[Action]:
        return self._say("shared_idea", idea=self._responses.say("ideas", self._rng))

    def _on_bad_day(self, match: Match) -> list[Action]:
        return self._say("bad_day")

    def _on_professional_help(self, match: Match) -> list[Action]:
        return self._say("professional_help")

    def _on_progress(self, match: Match) -> list[Action]:
        return self._say("progress")

    def _on_whats_next(self, match: Match) -> list[Action]:
        return self._say("whats_next")

    def _on_snooze(self, match: Match) -> list[Action]:
        return self._say("snooze_nothing")

    def _on_skip(self, match: Match) -> list[Action]:
        return [CancelTimers(), *self._say("skip")]

    def _on_stop(self, match: Match) -> list[Action]:
        return [CancelTimers(), *self._say("stopped")]

    def _on_repeat(self, match: Match) -> list[Action]:
        if self.last_said is None:
            return self._say("nothing_to_repeat")
        return [Speak(self.last_said)]

    def _on_quieter(self, match: Match) -> list[Action]:
        if self.volume <= MIN_VOLUME + 1e-9:
            return self._say("quietest")
        self.volume = round(max(MIN_VOLUME, self.volume - VOLUME_STEP), 2)
        return [SetVolume(self.volume), *self._say("quieter")]

    def _on_louder(self, match: Match) -> list[Action]:
        if self.volume >= MAX_VOLUME - 1e-9:
            return self._say("loudest")
        self.volume = round(min(MAX_VOLUME, self.volume + VOLUME_STEP), 2)
        return [SetVolume(self.volume), *self._say("louder")]

    def _on_help(self, match: Match) -> list[Action]:
        return self._say("help")

    def _on_forget(self, match: Match) -> list[Action]:
        return self._say("forget_nothing")

    # Helpers --------------------------------------------------------------------------------------

    def _say(self, key: str, asks: Question | None = None, **values: object) -> list[Action]:
        return self._speak(self._responses.say(key, self._rng, **values), asks)

    def _speak(self, text: str, asks: Question | None = None) -> list[Action]:
        self.last_said = text
        self.question = asks
        return [Speak(text, asks)]

    def _helplines_text(self, night: bool | None = None, helpline: str | None = None) -> str:
        """`night`: as the clock says unless given; `helpline`: one variant for every line, else chosen."""
        lines = list(self._config.helplines())
        if night is None:
            night = self._clock().hour in NIGHT_HOURS[0] or self._clock().hour in NIGHT_HOURS[1]
        if night:
            lines.sort(key=lambda line: not line.always_open)  # 24/7 lines first at night; stable sort
        return " ".join(self._responses.say("helpline", self._rng, **_spoken(line)) if helpline is None
                        else helpline.format(**_spoken(line)) for line in lines)

    def fixed_lines(self) -> list[str]:
        """What is worth rendering before the first reply: the common short replies, and the crisis
        line as it is said by day and by night, so that help is never waited for."""
        lines = [text for key in PRERENDERED for text in self._responses.variants[key]]
        for crisis in self._responses.variants["crisis"]:
            for helpline in self._responses.variants["helpline"]:
                for night in (False, True):
                    lines.append(crisis.format(helplines=self._helplines_text(night, helpline)))
        return list(dict.fromkeys(lines))


def _spoken(line: Helpline) -> dict[str, str]:
    """Digits said one by one, groups apart, so a tired person can write them down."""
    groups = [" ".join(group) if group.isdigit() else group for group in line.number.split()]
    return {"how": line.how.capitalize(), "name": line.name, "number": ", ".join(groups)}

"""Putting Lantern together from its config: one place that builds the parts, for every command."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from voice.config import Config
from voice.conversation import Conversation
from voice.dialog import Brain
from voice.dialogs import Dialogs, load_dialogs


@dataclass
class Brainworks:
    """Everything that thinks, nothing that hears or speaks."""

    config: Config
    dialogs: Dialogs
    conversation: Conversation


def build_brain(config: Config, rng: random.Random | None = None,
                clock: Callable[[], datetime] = datetime.now) -> Brainworks:
    dialogs = load_dialogs(config.dialogs_path(), config.household.partners)
    brain = Brain(dialogs, config, rng=rng, clock=clock)
    return Brainworks(config, dialogs, Conversation(dialogs, brain, config.wake.phrase))

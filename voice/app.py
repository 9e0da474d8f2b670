"""Putting Lantern together from its config: one place that builds the parts, for every command."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from voice.config import Config
from voice.conversation import Conversation
from voice.dialog import Brain
from voice.dialogs import COMMAND_FILE, Dialogs, load_dialogs
from voice.grammar import GRAMMAR_VERSION
from voice.stt import cache_dir, cache_key
from voice.understand import FUZZY_SAMPLES_PER_INTENT, Understander


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
    templates = config.dialogs_path() / COMMAND_FILE
    key = (templates, templates.stat().st_mtime_ns, tuple(config.household.partners))
    commands = _COMMANDS.get(key)
    if commands is None:
        # Sampling phrases for the nearest-phrase match takes a moment: once per set of templates.
        # (A new session per recording reuses it; it holds no conversation state.)
        _COMMANDS.clear()
        commands = _COMMANDS[key] = Understander(dialogs.commands, fuzzy=True, cache=_sample_cache(config, dialogs))
    return Brainworks(config, dialogs, Conversation(dialogs, brain, config.wake.phrase, commands))


_COMMANDS: dict[tuple[Path, int, tuple[str, ...]], Understander] = {}


def _sample_cache(config: Config, dialogs: Dialogs) -> Path:
    """Where the nearest-phrase sample is cached: named after the dialogs, the names and the sampling."""
    key = cache_key(dialogs.source_key(), ",".join(config.household.partners).lower(), GRAMMAR_VERSION,
                    str(FUZZY_SAMPLES_PER_INTENT))
    return cache_dir() / f"nearest-{key}.npz"

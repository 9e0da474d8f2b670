"""What the benchmark plays: the corpus turned into clips (phrase x voice x listening condition).

A clip is described by a small picklable `ClipSpec`; its audio is made on demand from the cached
synthesised speech (voice.bench.speech), with kitchen noise mixed in at the condition's SNR. Noise is
seeded from the clip itself, so every run (and every worker process) hears exactly the same audio.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from voice.bench.speech import Corpus

# voice.bench.speech (test speech synthesis) is imported only where audio is made, so that the idle
# process whose memory the benchmark reports carries nothing the product would not.

WAKE = "hey lantern"

COMMAND, CHATTER, OUT_OF_DOMAIN, CRISIS = "command", "chatter", "out_of_domain", "crisis"
KINDS = (COMMAND, CHATTER, OUT_OF_DOMAIN, CRISIS)


@dataclass(frozen=True, order=True)
class Condition:
    """How the clip is heard: clean, or with kitchen noise at `snr_db`."""

    snr_db: float | None = None

    @property
    def name(self) -> str:
        """Short key: "clean", "snr20", "snr10"."""
        return "clean" if self.snr_db is None else f"snr{self.snr_db:g}"

    @property
    def label(self) -> str:
        """For people: "clean", "20 dB SNR"."""
        return "clean" if self.snr_db is None else f"{self.snr_db:g} dB SNR"

    @classmethod
    def parse(cls, name: str) -> Condition:
        if name == "clean":
            return cls(None)
        if name.startswith("snr"):
            try:
                return cls(float(name[3:]))
            except ValueError:
                pass
        raise ValueError(f"unknown condition {name!r}: expected 'clean' or 'snr<dB>', e.g. 'snr10'")


CLEAN, SNR20, SNR10 = Condition(None), Condition(20.0), Condition(10.0)


@dataclass(frozen=True)
class ClipSpec:
    kind: str
    """command, chatter, out_of_domain or crisis."""
    phrase: str
    """The words after the wake phrase (or, for chatter, all the words)."""
    voice: str
    condition: Condition
    expected: str | None = None
    """The intent a command clip should produce."""

    @property
    def wake(self) -> str | None:
        return None if self.kind == CHATTER else WAKE

    @property
    def spoken(self) -> str:
        return f"{self.wake}, {self.phrase}" if self.wake else self.phrase

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.voice}|{self.condition.name}|{self.phrase}"


@dataclass(frozen=True)
class Selection:
    """How much of the corpus to play."""

    split: str = "test"
    per_intent: int | None = None
    """Phrasings per intent (None: all)."""
    chatter: int | None = None
    out_of_domain: int | None = None
    crisis: int | None = None
    voices_by_condition: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Condition name -> the voices heard in it."""


def phrases(selection: Selection, corpus: Corpus | None = None) -> list[tuple[str, str, str | None]]:
    """(kind, phrase, expected intent) for every phrase the selection plays."""
    from voice.bench import speech

    corpus = corpus or speech.load_corpus(selection.split)
    out: list[tuple[str, str, str | None]] = []
    for intent, said in corpus.intents.items():
        out.extend((COMMAND, p, intent) for p in _first(said, selection.per_intent))
    out.extend((CHATTER, p, None) for p in _first(corpus.chatter, selection.chatter))
    out.extend((OUT_OF_DOMAIN, p, None) for p in _first(corpus.out_of_domain, selection.out_of_domain))
    out.extend((CRISIS, p, None) for p in _first(corpus.crisis, selection.crisis))
    return out


def clip_specs(selection: Selection, corpus: Corpus | None = None) -> list[ClipSpec]:
    specs = []
    for condition_name, voices in selection.voices_by_condition.items():
        condition = Condition.parse(condition_name)
        for voice in voices:
            for kind, phrase, expected in phrases(selection, corpus):
                specs.append(ClipSpec(kind, phrase, voice, condition, expected))
    return specs


def thin(specs: Sequence[ClipSpec], every: int) -> list[ClipSpec]:
    """Every `every`-th phrase of each intent and of each other kind, starting with the first (the
    same phrases in every voice and condition)."""
    if every <= 1:
        return list(specs)
    index: dict[tuple[str, str | None, str], int] = {}
    counts: dict[tuple[str, str | None], int] = {}
    for s in specs:
        group = (s.kind, s.expected)
        if (*group, s.phrase) not in index:
            index[(*group, s.phrase)] = counts.get(group, 0)
            counts[group] = counts.get(group, 0) + 1
    return [s for s in specs if index[(s.kind, s.expected, s.phrase)] % every == 0]


def _first(items: Sequence[str], count: int | None) -> Sequence[str]:
    return items if count is None else items[:count]


def noise_seed(spec: ClipSpec) -> int:
    """Stable across processes and runs (unlike hash())."""
    return zlib.crc32(f"{spec.voice}|{spec.spoken}".encode())


def clean_audio(spec: ClipSpec, cache_dir: Path) -> np.ndarray:
    from voice.bench import speech

    return speech.utterance(spec.phrase, spec.voice, cache_dir, wake=spec.wake)


def clip_audio(spec: ClipSpec, cache_dir: Path) -> np.ndarray:
    """16 kHz mono int16: the phrase said by the voice, with noise at the condition's SNR."""
    from voice.bench import speech

    clip = clean_audio(spec, cache_dir)
    if spec.condition.snr_db is None:
        return clip
    noise = speech.kitchen_noise(len(clip), seed=noise_seed(spec))
    return speech.mix_at_snr(clip, noise, spec.condition.snr_db)

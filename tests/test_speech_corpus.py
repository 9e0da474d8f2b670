"""Fast unit tests of the test-speech helpers (voice/bench/speech.py) and the phrase corpus."""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so plain `pytest` finds the package too

from voice.bench import speech  # noqa: E402

INTENTS = (
    "hug", "appreciation", "leave_note", "play_notes", "checkin", "breathing", "talk_time",
    "conversation_starter", "repair", "shared_idea", "bad_day", "professional_help", "progress",
    "whats_next", "snooze", "skip", "stop", "repeat", "quieter", "louder", "help", "forget",
)

# The phrasings the templates were written from: the corpus must not reuse them.
TEMPLATE_EXAMPLES = {
    "start a hug", "hug time", "appreciation", "i want to thank sam", "leave a note for alex",
    "record a message for sam", "play my messages", "any notes for me", "check in", "i can't sleep",
    "help me breathe", "breathing exercise", "start talk time", "start our protected time",
    "help us start a conversation", "help us repair something", "we need to talk about a hurt",
    "give us an idea", "what can we do together", "i'm having a bad day", "do we need a therapist",
    "how are we doing", "what's next", "what's on the schedule", "snooze", "remind me in ten minutes",
    "skip today", "not today", "stop", "cancel", "repeat that", "say that again", "quieter",
    "speak softly", "louder", "speak up", "what can you do", "help", "delete everything",
}


def _voice_available(voice: str) -> bool:
    if voice == "hibari":
        return importlib.util.find_spec("hibari") is not None
    return shutil.which("espeak-ng") is not None


@pytest.fixture(params=speech.VOICES)
def voice(request: pytest.FixtureRequest) -> str:
    if not _voice_available(request.param):
        pytest.skip(f"{request.param} is not installed")
    return request.param


# -- synthesis ---------------------------------------------------------------------------------------


def test_voices_are_named_and_distinct() -> None:
    assert "hibari" in speech.VOICES
    assert sum(v.startswith("espeak") for v in speech.VOICES) >= 2
    assert len(set(speech.VOICES)) == len(speech.VOICES)


def test_synthesize_gives_16k_mono_int16_speech(voice: str, tmp_path: Path) -> None:
    clip = speech.synthesize("could we have a hug please", voice, tmp_path)
    assert clip.dtype == np.int16 and clip.ndim == 1
    seconds = len(clip) / speech.SAMPLE_RATE
    assert 0.8 < seconds < 4.0, seconds  # six words at a speaking rate, resampled to 16 kHz
    assert 10_000 < np.abs(clip).max() < 32_767  # normalised, not clipped
    assert speech.voiced_power(clip) > 100.0**2  # real energy, not silence


def test_cache_hit_returns_identical_audio_without_synthesising(
    voice: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = speech.synthesize("remind me in five minutes", voice, tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 1

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("synthesised again instead of using the cache")

    monkeypatch.setattr(speech, "_espeak", fail)
    monkeypatch.setattr(speech, "_hibari_engine", fail)
    second = speech.synthesize("remind  me in five minutes ", voice, tmp_path)  # whitespace is normalised
    np.testing.assert_array_equal(first, second)


def test_cache_key_depends_on_voice_and_text() -> None:
    keys = {speech._cache_key(v, t) for v in speech.VOICES for t in ("skip", "skip it")}
    assert len(keys) == 2 * len(speech.VOICES)


def test_utterance_pads_with_exact_silence(tmp_path: Path) -> None:
    voice = "espeak-us" if _voice_available("espeak-us") else pytest.skip("espeak-ng missing")
    clip = speech.utterance("skip it", voice, tmp_path, lead_silence_seconds=0.5, tail_silence_seconds=1.0)
    assert clip.dtype == np.int16
    assert not clip[:8000].any() and not clip[-16000:].any()
    assert clip[8000:-16000].any()
    command_only = speech.utterance("skip it", voice, tmp_path, wake=None)
    wake_only = speech.utterance(None, voice, tmp_path)
    paused = speech.utterance("skip it", voice, tmp_path, pause_seconds=0.7)
    assert len(command_only) < len(clip) < len(paused)
    # with a pause, the clip is exactly both parts (trimmed) plus the pause and the padding
    assert len(paused) == len(command_only) + len(wake_only) - 2 * 24_000 + int(0.7 * 16_000) + 24_000


def test_utterance_rejects_nothing_to_say(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        speech.utterance(None, "hibari", tmp_path, wake=None)
    with pytest.raises(ValueError):
        speech.synthesize("hug", "no-such-voice", tmp_path)


def test_default_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert speech.default_cache_dir() == tmp_path / "lantern" / "speech"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert speech.default_cache_dir() == Path.home() / ".cache" / "lantern" / "speech"


# -- noise and mixing ----------------------------------------------------------------------------------


def test_kitchen_noise_is_deterministic_float_noise() -> None:
    a = speech.kitchen_noise(3 * speech.SAMPLE_RATE, seed=4)
    assert a.dtype.kind == "f" and a.shape == (3 * speech.SAMPLE_RATE,)
    assert np.isfinite(a).all() and np.abs(a).max() <= 1.0
    assert 0.05 < float(np.sqrt(np.mean(a**2))) < 0.2
    np.testing.assert_array_equal(a, speech.kitchen_noise(3 * speech.SAMPLE_RATE, seed=4))
    assert not np.array_equal(a, speech.kitchen_noise(3 * speech.SAMPLE_RATE, seed=5))
    assert speech.kitchen_noise(0, seed=1).size == 0


@pytest.mark.parametrize("snr_db", [0.0, 5.0, 10.0, 20.0])
def test_mix_at_snr_hits_the_target_over_the_voiced_part(snr_db: float) -> None:
    sr = speech.SAMPLE_RATE
    t = np.arange(sr) / sr
    tone = 3000.0 * np.sin(2 * np.pi * 440.0 * t)  # one second of "speech", power 3000**2 / 2
    clip = np.concatenate([np.zeros(sr // 2), tone, np.zeros(sr)]).astype(np.int16)  # padded like utterance()
    noise = np.random.default_rng(0).standard_normal(len(clip) // 3)  # shorter: it gets repeated
    mixed = speech.mix_at_snr(clip, noise, snr_db)
    assert mixed.dtype == np.int16 and mixed.shape == clip.shape
    added = mixed.astype(np.float64) - clip
    measured = 10 * np.log10((3000.0**2 / 2) / np.mean(added**2))
    assert abs(measured - snr_db) < 0.5, measured


def test_mix_at_snr_clips_instead_of_wrapping() -> None:
    clip = np.full(16_000, 30_000, dtype=np.int16)
    mixed = speech.mix_at_snr(clip, np.ones(100), snr_db=-20.0)
    assert mixed.dtype == np.int16 and mixed.max() == 32_767


# -- corpus ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("split", speech.SPLITS)
def test_corpus_split_is_complete(split: str) -> None:
    corpus = speech.load_corpus(split)
    assert set(corpus.intents) == set(INTENTS)
    for intent, phrases in corpus.intents.items():
        assert len(phrases) >= 10, intent
    assert len(corpus.chatter) >= 25
    assert len(corpus.out_of_domain) >= 20
    assert len(corpus.crisis) >= 15


def _all_phrases(corpus: speech.Corpus) -> set[str]:
    phrases = {p for ps in corpus.intents.values() for p in ps}
    return phrases | set(corpus.chatter) | set(corpus.out_of_domain) | set(corpus.crisis)


def test_corpus_splits_are_disjoint_and_new() -> None:
    dev, test = (_all_phrases(speech.load_corpus(s)) for s in speech.SPLITS)
    assert not dev & test
    assert not (dev | test) & TEMPLATE_EXAMPLES
    assert not any("lantern" in p for p in dev | test)  # the wake phrase is added by the benchmark


def test_load_corpus_reports_malformed_phrases(tmp_path: Path) -> None:
    bad = tmp_path / "corpus.yaml"
    bad.write_text("dev:\n  intents:\n    hug: ['Start a hug!']\n  chatter: [a]\n  out_of_domain: [b]\n"
                   "  crisis: [c]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="hug"):
        speech.load_corpus("dev", bad)
    with pytest.raises(ValueError):
        speech.load_corpus("train")

"""Synthetic test speech for Lantern's tests and benchmark.

Everything here produces audio in the pipeline's format: 16 kHz, mono, int16.

- ``synthesize`` says a text with one of the named ``VOICES`` and caches the result on disk.
- ``utterance`` says "hey lantern" and a command as one clip, padded with silence.
- ``kitchen_noise`` and ``mix_at_snr`` make the noisy-kitchen cases.
- ``load_corpus`` reads the phrase corpus (``corpus.yaml`` next to this file).

Voices: "hibari" is the neural voice bundled inside the hibari-tts wheel (American English, female;
the only hibari voice that needs no download). The "espeak-*" voices call the espeak-ng program.
Every clip is peak-normalised to the same level so voices are comparable; mix noise afterwards.

Typical use::

    cache = default_cache_dir()
    clip = utterance("could we have a hug please", "espeak-us", cache)
    noisy = mix_at_snr(clip, kitchen_noise(len(clip), seed=1), snr_db=10)
"""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr
import yaml

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
"""Sample rate of every array this module returns."""

_ESPEAK_VOICES: dict[str, tuple[str, int]] = {
    # name: (espeak-ng -v argument, words per minute)
    "espeak-us": ("en-us", 160),  # American English, male (F0 about 105 Hz)
    "espeak-gb-f": ("en-gb-x-rp+f2", 150),  # British RP, female variant (F0 about 200 Hz), slower
}
# Note: espeak-ng 1.51 silently ignores a "+variant" on the language alias "en-gb" ("en-gb+m3" sounds
# exactly like "en-gb"); a variant needs a voice name such as "en", "en-us" or "en-gb-x-rp".

VOICES: tuple[str, ...] = ("hibari", *_ESPEAK_VOICES)
"""The synthetic voices, by name: a neural one and two espeak-ng ones that differ in accent and pitch."""

SPLITS: tuple[str, ...] = ("dev", "test")
CORPUS_PATH = Path(__file__).with_name("corpus.yaml")

_HIBARI_SEED = 0  # fixes hibari's noise component, so a clip is reproducible bit for bit
_PEAK = 0.5  # every synthesised clip is normalised to this peak (-6 dBFS), leaving room for noise
_CACHE_VERSION = "1"  # bump when the synthesis or the normalisation changes
_FRAME = SAMPLE_RATE // 50  # 20 ms analysis frames
_VOICED_RANGE_DB = 40.0  # a frame is voiced if within this many dB of the loudest frame...
_VOICED_FLOOR_RMS = 10.0  # ...and its RMS (int16 units) is above this floor
_TRIM_RANGE_DB = 45.0  # edges quieter than this below the loudest frame count as silence
_TRIM_MARGIN_S = 0.03  # kept around the speech when trimming, so soft onsets ("h") survive
_PHRASE = re.compile(r"[a-z']+( [a-z']+)*")


# -- synthesis --------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """Where synthesised clips are cached: $XDG_CACHE_HOME/lantern/speech, else ~/.cache/lantern/speech."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lantern" / "speech"


def synthesize(text: str, voice: str, cache_dir: Path) -> np.ndarray:
    """Say ``text`` with ``voice``: int16 mono at 16 kHz, peak-normalised.

    The clip is cached in ``cache_dir`` as ``<sha256>.npy`` (keyed by voice, its settings and text),
    so a second call with the same arguments only reads a small file. The cache is safe to share
    between processes (files are written whole, then renamed into place).
    """
    if voice not in VOICES:
        raise ValueError(f"unknown voice {voice!r}; available: {', '.join(VOICES)}")
    text = " ".join(text.split())
    if not text:
        raise ValueError("nothing to say: text is empty")
    cache_dir = Path(cache_dir)
    path = cache_dir / f"{_cache_key(voice, text)}.npy"
    try:
        return np.load(path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, EOFError) as e:
        log.warning("cached clip %s is unreadable (%s); synthesising again", path, e)

    started = time.perf_counter()
    if voice == "hibari":
        engine = _hibari_engine()
        audio, rate = engine(text, seed=_HIBARI_SEED), engine.sample_rate
    else:
        audio, rate = _espeak(text, *_ESPEAK_VOICES[voice])
    clip = _to_int16(soxr.resample(audio, rate, SAMPLE_RATE), text, voice)
    log.debug("synthesised %r with %s: %.2f s of audio in %.3f s",
              text, voice, len(clip) / SAMPLE_RATE, time.perf_counter() - started)

    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache_dir, prefix=path.stem, suffix=".tmp", delete=False) as f:
        np.save(f, clip)
    os.replace(f.name, path)
    return clip


def utterance(
    command: str | None,
    voice: str,
    cache_dir: Path,
    wake: str | None = "hey lantern",
    pause_seconds: float = 0.0,
    lead_silence_seconds: float = 0.5,
    tail_silence_seconds: float = 1.0,
) -> np.ndarray:
    """The wake phrase and a command said as one clip, with exact silence before and after.

    With ``pause_seconds == 0`` the text "<wake>, <command>" is synthesised in one go (one breath, the
    way people talk to a speaker). Otherwise the two are synthesised separately, their own edge
    silence trimmed, and joined with exactly ``pause_seconds`` of silence. ``wake=None`` gives the
    command alone (chatter); ``command=None`` gives the wake phrase alone.
    """
    if command is None and wake is None:
        raise ValueError("an utterance needs a command, a wake phrase or both")
    for name, value in (("pause_seconds", pause_seconds), ("lead_silence_seconds", lead_silence_seconds),
                        ("tail_silence_seconds", tail_silence_seconds)):
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
    if wake and command and pause_seconds == 0:
        pieces = [_trim(synthesize(f"{wake}, {command}", voice, cache_dir))]
    else:
        pieces = [_trim(synthesize(t, voice, cache_dir)) for t in (wake, command) if t]
    gap = _silence(pause_seconds)
    body = pieces[0] if len(pieces) == 1 else np.concatenate([pieces[0], gap, pieces[1]])
    return np.concatenate([_silence(lead_silence_seconds), body, _silence(tail_silence_seconds)])


def write_wav(path: Path, audio: np.ndarray) -> None:
    """Write 16 kHz mono int16 audio as a WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.asarray(audio, dtype="<i2").tobytes())


@functools.lru_cache(maxsize=1)
def _hibari_engine():  # -> hibari.Hibari; imported here so the rest works without hibari-tts
    from hibari import Hibari

    return Hibari(threads=1)  # the bundled default voice: works offline


def _espeak(text: str, voice: str, words_per_minute: int) -> tuple[np.ndarray, int]:
    """Run espeak-ng; returns float32 audio in [-1, 1] and its sample rate (22050 Hz)."""
    with tempfile.TemporaryDirectory(prefix="lantern-espeak-") as tmp:
        wav_path = Path(tmp) / "out.wav"
        # The text goes in on stdin so that nothing in it can be taken for an option.
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(wav_path), "--stdin"],
                       input=text, text=True, check=True, capture_output=True)
        with wave.open(str(wav_path), "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise RuntimeError(f"espeak-ng wrote unexpected WAV format: {w.getparams()}")
            rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, rate


def _cache_key(voice: str, text: str) -> str:
    settings = repr(_ESPEAK_VOICES.get(voice, _HIBARI_SEED))
    return hashlib.sha256("\0".join((_CACHE_VERSION, voice, settings, text)).encode()).hexdigest()


def _to_int16(audio: np.ndarray, text: str, voice: str) -> np.ndarray:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak == 0.0:
        raise RuntimeError(f"{voice} produced no sound for {text!r}")
    return np.round(audio * (_PEAK * 32767.0 / peak)).astype(np.int16)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * SAMPLE_RATE)), dtype=np.int16)


def _frame_power(x: np.ndarray) -> np.ndarray:
    """Mean power of each whole 20 ms frame (the last partial frame is dropped)."""
    n = len(x) // _FRAME
    return (x[: n * _FRAME].astype(np.float64).reshape(n, _FRAME) ** 2).mean(axis=1)


def _trim(x: np.ndarray) -> np.ndarray:
    """Cut leading and trailing silence, keeping a small margin around the speech."""
    power = _frame_power(x)
    if power.size == 0 or power.max() == 0:
        return x
    loud = np.flatnonzero(power > power.max() * 10 ** (-_TRIM_RANGE_DB / 10))
    margin = int(_TRIM_MARGIN_S * SAMPLE_RATE)
    start = max(0, loud[0] * _FRAME - margin)
    end = min(len(x), (loud[-1] + 1) * _FRAME + margin)
    return x[start:end]


# -- noise ------------------------------------------------------------------------------------------


def kitchen_noise(num_samples: int, seed: int) -> np.ndarray:
    """A plausible kitchen background at 16 kHz, float32 within [-1, 1], RMS about 0.1.

    Low rumble (brown noise) and room hiss (pink noise), an extractor fan (a motor hum with harmonics,
    a slow wobble, and broadband air rush), a faint fridge mains hum, and now and then a clatter of
    crockery or cutlery (ringing, fast-decaying bursts). Deterministic for a given seed and length.
    """
    if num_samples <= 0:
        return np.zeros(0, dtype=np.float32)
    rng = np.random.default_rng(seed)
    n = num_samples
    t = np.arange(n) / SAMPLE_RATE

    rumble = _coloured_noise(rng, n, exponent=2.0, low_hz=20.0, high_hz=SAMPLE_RATE / 2)
    hiss = _coloured_noise(rng, n, exponent=1.0, low_hz=20.0, high_hz=SAMPLE_RATE / 2)
    air = _coloured_noise(rng, n, exponent=0.0, low_hz=250.0, high_hz=2500.0)

    motor_hz = rng.uniform(90.0, 140.0)
    wobble = 1.0 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 2 * np.pi))
    motor = sum(np.sin(2 * np.pi * k * motor_hz * t + rng.uniform(0, 2 * np.pi)) / k ** 1.5 for k in (1, 2, 3, 4))
    mains_hz = rng.choice([50.0, 60.0])
    mains = np.sin(2 * np.pi * mains_hz * t) + 0.5 * np.sin(2 * np.pi * 2 * mains_hz * t)

    bed = 0.35 * rumble + 0.25 * hiss + 0.5 * air * wobble + 0.3 * motor * wobble / _rms(motor) + 0.05 * mains / _rms(mains)
    bed *= 0.1 / _rms(bed)
    noise = bed + 0.1 * _clatter(rng, n)
    peak = float(np.max(np.abs(noise)))
    if peak > 1.0:
        noise /= peak
    return noise.astype(np.float32)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Add ``noise`` to int16 ``speech`` so that the signal-to-noise ratio is ``snr_db``; returns int16.

    Speech power is measured over its voiced part only: the 20 ms frames within 40 dB of the loudest
    frame (and above a tiny absolute floor), so the silence padding does not lower the speech level.
    Noise power is measured over the whole clip. Noise shorter than the speech is repeated; longer noise
    is cut. The sum is clipped to the int16 range.
    """
    s = np.asarray(speech).astype(np.float64)
    nz = np.asarray(noise, dtype=np.float64)
    if nz.size == 0:
        raise ValueError("noise is empty")
    nz = np.resize(nz, s.shape)
    speech_power = voiced_power(speech)
    noise_power = float(np.mean(nz ** 2))
    if noise_power == 0.0:
        raise ValueError("noise is silent")
    gain = np.sqrt(speech_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return np.clip(np.round(s + gain * nz), -32768, 32767).astype(np.int16)


def voiced_power(speech: np.ndarray) -> float:
    """Mean power (int16 units squared) of the voiced frames of ``speech``, as ``mix_at_snr`` uses it."""
    power = _frame_power(np.asarray(speech))
    if power.size == 0 or power.max() <= _VOICED_FLOOR_RMS ** 2:
        raise ValueError("speech has no voiced frames (silent, or shorter than 20 ms)")
    voiced = (power > power.max() * 10 ** (-_VOICED_RANGE_DB / 10)) & (power > _VOICED_FLOOR_RMS ** 2)
    return float(power[voiced].mean())


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) or 1.0


def _coloured_noise(rng: np.random.Generator, n: int, exponent: float, low_hz: float, high_hz: float) -> np.ndarray:
    """Gaussian noise with power falling as 1/f**exponent between low_hz and high_hz; unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    band = (freqs >= low_hz) & (freqs <= high_hz)
    shape = np.zeros_like(freqs)
    shape[band] = freqs[band] ** (-exponent / 2.0)
    out = np.fft.irfft(spectrum * shape, n)
    return out / _rms(out)


def _clatter(rng: np.random.Generator, n: int) -> np.ndarray:
    """Occasional crockery and cutlery: about one event every four seconds, each a short noise click
    followed by a few ringing partials that die away within a few hundred milliseconds. Relative scale."""
    out = np.zeros(n)
    events = rng.poisson(n / SAMPLE_RATE / 4.0)
    for start in rng.integers(0, n, size=events):
        length = int(rng.uniform(0.08, 0.4) * SAMPLE_RATE)
        tt = np.arange(length) / SAMPLE_RATE
        ring = sum(np.sin(2 * np.pi * rng.uniform(1500.0, 6500.0) * tt + rng.uniform(0, 2 * np.pi))
                   * np.exp(-tt / rng.uniform(0.02, 0.09)) for _ in range(3))
        click = rng.standard_normal(length) * np.exp(-tt / 0.004)
        event = rng.uniform(1.0, 4.0) * (0.6 * ring / 3.0 + click)
        end = min(n, start + length)
        out[start:end] += event[: end - start]
    return out


# -- corpus -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    """One split of the phrase corpus. Phrases are lower-case spoken words, without the wake phrase."""

    intents: dict[str, tuple[str, ...]]
    chatter: tuple[str, ...]
    out_of_domain: tuple[str, ...]
    crisis: tuple[str, ...]


def load_corpus(split: str, path: Path | None = None) -> Corpus:
    """Read one split ("dev" or "test") of ``corpus.yaml`` (or of ``path``), checking its shape.

    Raises ValueError naming the split, section and phrase when something is malformed: a missing
    section, a phrase that is not lower-case words and apostrophes, or a phrase listed twice.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    source = Path(path) if path is not None else CORPUS_PATH
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get(split), dict):
        raise ValueError(f"{source}: no mapping for split {split!r}")
    section = data[split]
    intents_raw = section.get("intents")
    if not isinstance(intents_raw, dict) or not intents_raw:
        raise ValueError(f"{source}: {split}.intents must be a non-empty mapping of intent to phrases")

    seen: dict[str, str] = {}

    def phrases(where: str, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise ValueError(f"{source}: {where} must be a non-empty list of phrases")
        for phrase in value:
            if not isinstance(phrase, str) or not _PHRASE.fullmatch(phrase):
                raise ValueError(f"{source}: {where}: {phrase!r} is not lower-case words and apostrophes")
            if phrase in seen:
                raise ValueError(f"{source}: {where}: {phrase!r} is already listed in {seen[phrase]}")
            seen[phrase] = where
        return tuple(value)

    intents = {str(name): phrases(f"{split}.intents.{name}", value) for name, value in intents_raw.items()}
    return Corpus(
        intents=intents,
        chatter=phrases(f"{split}.chatter", section.get("chatter")),
        out_of_domain=phrases(f"{split}.out_of_domain", section.get("out_of_domain")),
        crisis=phrases(f"{split}.crisis", section.get("crisis")),
    )

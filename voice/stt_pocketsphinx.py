"""pocketsphinx with a trigram language model trained on our own phrases.

Measured (DESIGN.md): a template-trained LM with a small discount runs at well under 0.1x real time
and, with the transcript then matched against the templates, hears natural speech well. The LM and
the dictionary restricted to our words are cached, so start-up stays fast.
"""

from __future__ import annotations

import difflib
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voice.errors import ConfigError, ModelMissingError, Where
from voice.grammar import words_of
from voice.stt import Transcript
from voice.word_graph import WordGraph

if TYPE_CHECKING:
    from pocketsphinx import Decoder

_LOGGER = logging.getLogger(__name__)
SECOND_HEARING_MAX_SECONDS = 0.5
"""A second hearing still running after this is abandoned. In loud noise the graph search can take a
second or more; by then a quick "sorry?" serves better than a late guess."""
_CHUNK_BYTES = 8000  # a quarter of a second of audio between deadline checks
_SAMPLES_PER_FRAME = 160
"""pocketsphinx's 100 frames a second at 16 kHz."""
NOISE_FLOOR_DBFS = -60.0
"""A quiet microphone's hiss, added to what the streaming decoder hears. Its front end (noise
subtraction and the running cepstral mean) misjudges the exact digital silence that WAV files and
virtual sound cards give between words. On the dev split the espeak-us voice's commands went from
104 to 124 of 132 with this floor, other voices and noise within a clip or two. A real microphone's
own floor is about this loud, so there it changes little. The hearings after the end of speech get
the audio as it came: there the graph search, which must end on a whole phrase, heard the hiss after
"start a hug" as "for" (dev commands: 590 of 660 hearing the audio as it came, 587 with the hiss).
The shadow (`attend`) gets the hiss: it starts in the pre-roll's silence, where the raw audio misled
it (3 of 4 probes right with the hiss, 2 without)."""
FREQUENCY_WARP = 1.1
"""The front end's inverse-linear frequency warp for Lantern's decoders (all of them, so that every
hearing of a voice sees the same features). Why it helps is not known; it helped the natural voice in
noise as well as the robotic ones. Dev split, 176 commands per voice and condition (8 phrasings an
intent): clean espeak-gb-f 140 -> 145, espeak-us 164 -> 167, hibari 175 -> 175; 10 dB espeak-us
155 -> 160, hibari 156 -> 163. 1.2 did 147 on espeak-gb-f clean but lost in noise (313 of 352); 0.9
lost (134). With crisis, chatter and out-of-domain clips too (1 915 clips): crisis 570 -> 574 of 585,
chatter 564 of 565 either way, out-of-domain declined 471 -> 466 of 515. The usual way in the
benchmark keeps pocketsphinx's default (none)."""
CMN_START = "53.84,-3.51,-7.86,3.67,-1.82,-3.25,-7.28,-1.39,-1.17,-5.42,2.52,-1.51,-2.43"
"""Where the running cepstral mean starts, for Lantern's decoders. The mean learns only when an utterance
ends, so the first one after start-up (or `reset_adaptation`) is normalised by this value alone.
pocketsphinx's own start (40,3,-1,0,...) is far from what our front end (warp, hiss) makes of speech:
the first "hey lantern" of a run was heard as "can you lantern" and ignored. This is the mean our
decoders reached on the dev split (30 commands each in three voices clean and two at 10 dB, averaged).
Dev commands each heard as the first utterance (44 phrasings x those 5 voice-conditions): 159 of 220
understood from pocketsphinx's start, 169 from the clean voices' mean, 186 from this; a decoder that
has heard a few utterances understands about 88%."""
_HISS_SEED = 1
"""The hiss's generator starts here when a recogniser is built and at `reset_adaptation`."""
LM_DISCOUNT = 0.02
"""Backoff mass: small, so the model strongly prefers whole template phrases (lm.py's 0.5 is too loose)."""


def _model_dir() -> Path:
    try:
        from pocketsphinx import get_model_path
    except ImportError as exc:
        raise ModelMissingError(f"pocketsphinx is not installed ({exc}); run ./script/setup") from None
    return Path(get_model_path()) / "en-us"


class PocketsphinxRecognizer:
    """pocketsphinx on one language model and dictionary.

    One decoder for the whole run: its cepstral mean adapts to the room (and to a voice) across
    utterances, which measurably helps; a fresh decoder per recording heard worse."""

    def __init__(self, lm: Path, dictionary: Path, name: str = "pocketsphinx", phrases: Path | None = None,
                 crisis: Path | None = None, warp: float = 1.0, cmn_start: str | None = None):
        """`phrases`, `crisis`: word graphs (FSG files) of the whole phrases and of the crisis phrases
        alone, for `second_opinion`. `warp`: the front end's frequency warp (inverse linear; 1.0 is
        pocketsphinx's default, none). `cmn_start`: where the running cepstral mean starts (None:
        pocketsphinx's default)."""
        from pocketsphinx import Decoder

        self.name = name
        # No dither of pocketsphinx's own: it draws on one random generator shared by every decoder
        # in the process, so whether a hearing ran after an earlier clip's end of speech (and how far,
        # with its deadline) changed what later clips heard (199 of 2 338 bench clips between two
        # runs). Exact digital silence, as from a null sink or espeak, does derail the decoder, so
        # each decoder's audio gets noise of ours instead, from its own generator (`_with_floor`,
        # `_dithered`).
        common = {"hmm": str(_model_dir() / "en-us"), "dict": str(dictionary), "dither": False,
                  "loglevel": "FATAL"}
        if warp != 1.0:
            common |= {"warp_type": "inverse_linear", "warp_params": str(warp)}
        if cmn_start is not None:
            common["cmninit"] = cmn_start
        self._decoder = Decoder(lm=str(lm), **common)
        # The whole-phrase graph lives in the shadow alone: its search takes ~55 MB, and a second copy
        # in the first decoder (for hearings after the end of speech) would hold another ~55 MB.
        self._shadow: Decoder | None = None
        """A second decoder on the whole-phrase graph, fed alongside the first once the utterance is for
        Lantern (`attend`), so the second hearing is ready when the speaker stops instead of being
        decoded then (that decode is capped at SECOND_HEARING_MAX_SECONDS)."""
        if phrases is not None:
            # No lattice pass: on this graph it took up to 0.37 s at the end of an utterance (espeak-us,
            # 10 dB), and the phrase is as good without it.
            self._shadow = Decoder(fsg=str(phrases), bestpath=False, **common)
        self._crisis_shadow: Decoder | None = None
        """Likewise on the crisis phrases alone, so that the crisis hearing (asked when nothing was
        understood) is ready at the end of speech too; it cost up to ~0.2 s there (the room's p95).
        It also does that hearing after the end of speech when it was not listening, so the first
        decoder never decodes an utterance twice (which would teach its cepstral mean the same audio
        again)."""
        if crisis is not None:
            self._crisis_shadow = Decoder(fsg=str(crisis), bestpath=False, **common)
        self._shadows = [shadow for shadow in (self._shadow, self._crisis_shadow) if shadow is not None]
        """Both shadows that exist (fixed once built: `feed` asks on every frame)."""
        self._listening: list[Decoder] = []
        """The shadows with an utterance open (fed since `attend`, final pass not yet run); empty
        until `attend` in each utterance."""
        self._shadow_words: list[str] | None = None
        """What the shadow heard in the last utterance, once asked for (its final pass runs only then)."""
        self._crisis_words: list[str] | None = None
        """What the crisis shadow heard, once asked for."""
        self._in_utterance = False
        self._hiss = np.random.default_rng(_HISS_SEED)
        """Seeded, so a run over the same recordings repeats exactly."""
        self._audio: list[bytes] = []
        """The current (or last) utterance as it came, kept for a second hearing."""
        self._heard: list[bytes] = []
        """The same with the hiss, as the decoder heard it, until the shadow catches up on it (`attend`)."""
        self._words: list[tuple[str, int]] = []
        """The last transcript's words, each with the sample offset (into `_audio`) where it ends."""

    @classmethod
    def for_phrases(cls, key: str, corpus: Callable[[], list[str]],
                    graphs: Callable[[], tuple[WordGraph, WordGraph]], extra: Mapping[str, tuple[str, ...]],
                    cache: Path) -> "PocketsphinxRecognizer":
        """Lantern's recogniser: restricted to our phrases by a language model trained on a sample of them
        and by word graphs (all phrases; crisis phrases alone), cached under `key` (built from `corpus()`
        and `graphs()` only when missing)."""
        paths = [cache / f"lm-{key}{ext}" for ext in (".arpa", ".dict", ".fsg", ".crisis.fsg")]
        if not all(path.exists() for path in paths):
            _build(corpus(), graphs(), _model_dir() / "cmudict-en-us.dict", extra, *paths)
        lm_path, dict_path, fsg_path, crisis_path = paths
        return cls(lm_path, dict_path, phrases=fsg_path, crisis=crisis_path, warp=FREQUENCY_WARP,
                   cmn_start=CMN_START)

    @classmethod
    def open_vocabulary(cls) -> "PocketsphinxRecognizer":
        """pocketsphinx's own full English LM and dictionary: the usual way, for the benchmark."""
        model = _model_dir()
        return cls(model / "en-us.lm.bin", model / "cmudict-en-us.dict", name="pocketsphinx-open")

    def reset_adaptation(self) -> None:
        """Hear from now on as if just built: forget what every decoder's front end learnt about the
        room and the voice (the running cepstral mean, the noise estimate), and start the hiss over.
        The hiss's generator once ran on, so a benchmark task heard its clips under different hiss
        depending on which tasks its worker had run before, and runs of the same code differed."""
        for decoder in (self._decoder, *self._shadows):
            decoder.reinit_feat()
        self._hiss = np.random.default_rng(_HISS_SEED)

    def start(self) -> None:
        if self._in_utterance:
            self._decoder.end_utt()
        self._end_shadow(keep=False)
        self._shadow_words = self._crisis_words = None
        self._decoder.start_utt()
        self._in_utterance = True
        self._audio = []
        self._heard = []

    def feed(self, pcm: bytes) -> None:
        heard = self._with_floor(pcm)
        self._decoder.process_raw(heard, False, False)
        if not self._shadows:
            return
        self._audio.append(pcm)
        if self._listening:
            for shadow in self._listening:
                shadow.process_raw(heard, False, False)
        else:
            self._heard.append(heard)

    def attend(self) -> None:
        """This utterance is for Lantern: start its second hearing now, alongside the first (catching
        up on the audio so far), so that it is ready when the speaker stops."""
        if not self._shadows or self._listening or not self._in_utterance:
            return
        cmn = self._decoder.get_cmn()
        for shadow in self._shadows:
            # The running cepstral mean has learnt the room and the voice; a fresh one hears far worse.
            shadow.set_cmn(cmn)
            shadow.start_utt()
            for heard in self._heard:
                shadow.process_raw(heard, False, False)
        self._heard = []  # fed from now on as it comes
        self._listening = list(self._shadows)

    def _end_shadow(self, keep: bool = True, crisis: bool = False) -> list[str] | None:
        """What one shadow (the crisis one if `crisis`) heard (`keep`), if it was listening in this
        utterance; it stops listening. `keep=False` stops them all (at the next utterance's start).
        A shadow's final pass runs when its hearing is asked for, else only at that next start,
        where nobody waits for it."""
        if not keep:
            for shadow in self._listening:
                shadow.end_utt()
            self._listening = []
            return None
        shadow = self._crisis_shadow if crisis else self._shadow
        if not any(shadow is open_ for open_ in self._listening):
            return None
        shadow.end_utt()
        self._listening = [open_ for open_ in self._listening if open_ is not shadow]
        hyp = shadow.hyp()
        return hyp.hypstr.split() if hyp is not None else []

    def _with_floor(self, pcm: bytes) -> bytes:
        samples = np.frombuffer(pcm, dtype=np.int16)
        hiss = self._hiss.normal(0.0, 32768.0 * 10 ** (NOISE_FLOOR_DBFS / 20), len(samples))
        return np.clip(samples + hiss, -32768, 32767).astype(np.int16).tobytes()

    def partial(self) -> str:
        hyp = self._decoder.hyp()
        return hyp.hypstr if hyp is not None else ""

    def finish(self) -> Transcript:
        self._decoder.end_utt()
        self._in_utterance = False
        hyp = self._decoder.hyp()
        if hyp is None or not hyp.hypstr:
            self._words = []
            return Transcript("", 0.0)
        # Each word and where it ends, so a second hearing can start after the wake phrase.
        self._words = [(seg.word.split("(")[0], (seg.end_frame + 1) * _SAMPLES_PER_FRAME)
                       for seg in self._decoder.seg() if not seg.word.startswith(("<", "["))]
        return Transcript(hyp.hypstr, float(self._decoder.get_prob()))

    def second_opinion(self, after_words: int = 0, crisis_only: bool = False) -> Transcript | None:
        """The last utterance heard again, from the end of its first `after_words` words (the wake
        phrase, heard well already), as the one whole phrase of the word graph it is closest to (the
        crisis phrases' graph if `crisis_only`). Its confidence is how alike the two hearings sound.
        Ready at once if `attend` was called during the utterance (a shadow decoder heard it, one for
        each graph); otherwise a decode at about 0.1x real time. Asked for only when the first hearing
        made no sense."""
        decoder = self._crisis_shadow if crisis_only else self._shadow
        if decoder is None or not self._audio or self._in_utterance:
            return None
        first = [word for word, _ in self._words[after_words:]]
        if crisis_only:
            if self._crisis_words is None:
                self._crisis_words = self._end_shadow(crisis=True)
            heard = self._crisis_words
        else:
            if self._shadow_words is None:
                self._shadow_words = self._end_shadow()
            heard = self._shadow_words
        if heard is not None:
            return self._shadow_hearing(heard, after_words, first)
        audio = b"".join(self._audio)
        if 0 < after_words <= len(self._words):
            audio = audio[self._words[after_words - 1][1] * 2:]  # int16: two bytes a sample
        decoder.set_cmn(self._decoder.get_cmn())
        return self._decode(decoder, audio, first)

    def _decode(self, decoder: Decoder, audio: bytes, first: list[str]) -> Transcript | None:
        """`audio` through `decoder`'s graph search, within SECOND_HEARING_MAX_SECONDS."""
        audio = _dithered(audio)
        deadline = time.perf_counter() + SECOND_HEARING_MAX_SECONDS
        decoder.start_utt()
        for start in range(0, len(audio), _CHUNK_BYTES):
            if time.perf_counter() > deadline:
                decoder.end_utt()
                _LOGGER.debug("second hearing abandoned after %.2f s", SECOND_HEARING_MAX_SECONDS)
                return None
            decoder.process_raw(audio[start:start + _CHUNK_BYTES], False, False)
        decoder.end_utt()
        hyp = decoder.hyp()
        if hyp is None or not hyp.hypstr:
            return Transcript("", 0.0)
        return Transcript(hyp.hypstr, self._sound_alike(first, hyp.hypstr.split()))

    def _shadow_hearing(self, heard: list[str], after_words: int, first: list[str]) -> Transcript:
        """A shadow's phrase (`heard`), past the same opening words (the wake phrase) as the first hearing."""
        second = heard
        opening = [word for word, _ in self._words[:after_words]]
        # The graph has no stray word before the wake phrase ("um hey lantern"): strip the longest
        # end of the opening that the shadow heard too.
        for start in range(len(opening)):
            if second[:len(opening) - start] == opening[start:]:
                second = second[len(opening) - start:]
                break
        if not second:
            return Transcript("", 0.0)
        return Transcript(" ".join(second), self._sound_alike(first, second))

    def _sound_alike(self, first: list[str], second: list[str]) -> float:
        """0..1: how alike two word sequences sound, by their phones. On the dev split this told right
        corrections ("wipe the later" -> "remind me later") from wrong ones better than words did."""
        def phones(words: list[str]) -> list[str]:
            return [p for word in words for p in (self._decoder.lookup_word(word) or word).split()]

        a, b = phones(first), phones(second)
        return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() if a and b else 0.0


def _dithered(pcm: bytes) -> bytes:
    """`pcm` with one in four samples raised by one, as pocketsphinx's own dither does: enough to break
    exact digital silence. From a fresh generator each time, so a hearing depends on its audio only."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.int32)
    samples += np.random.default_rng(0).random(len(samples)) < 0.25
    return np.clip(samples, -32768, 32767).astype(np.int16).tobytes()


def _build(corpus: list[str], graphs: tuple[WordGraph, WordGraph], cmudict: Path,
           extra: Mapping[str, tuple[str, ...]], lm_path: Path, dict_path: Path, fsg_path: Path,
           crisis_path: Path) -> None:
    from pocketsphinx.lm import ArpaBoLM

    # The sample may miss a rare word that the graph (every phrase) has: the dictionary needs both.
    graph, crisis = graphs
    words = words_of(corpus) | {word for _, _, word in graph.arcs if word is not None}
    pronunciations: dict[str, list[str]] = {}
    with open(cmudict, encoding="utf-8") as fh:
        for line in fh:
            head, _, phones = line.partition(" ")
            word = head.split("(")[0]
            if word in words:
                pronunciations.setdefault(word, []).append(phones.strip())
    for word, variants in extra.items():
        if word in words:
            pronunciations.setdefault(word, []).extend(v for v in variants if v not in pronunciations.get(word, []))
    missing = sorted(words - set(pronunciations))
    if missing:
        raise ConfigError(
            Where("dialogs/ or config.yaml"),
            f"these words are not in the pronouncing dictionary, so Lantern could never hear them: {', '.join(missing)}. "
            "Respell them (e.g. 'check in', not 'check-in'; write numbers as words), or add how they are said to "
            "dialogs/en/pronunciations.yaml.",
        )
    lm = ArpaBoLM(text="\n".join(corpus) + "\n", add_start=True, discount_mass=LM_DISCOUNT)
    lm.compute()
    tmp_lm, tmp_dict = lm_path.with_name(lm_path.name + ".tmp"), dict_path.with_name(dict_path.name + ".tmp")
    with open(tmp_lm, "w", encoding="utf-8") as fh:
        lm.write(fh)
    with open(tmp_dict, "w", encoding="utf-8") as fh:
        for word, variants in sorted(pronunciations.items()):
            for i, phones in enumerate(variants):
                fh.write(f"{word}{'' if i == 0 else f'({i + 1})'} {phones}\n")
    os.replace(tmp_lm, lm_path)  # atomic: a crash mid-build never leaves half a model in the cache
    os.replace(tmp_dict, dict_path)
    graph.write_fsg(fsg_path)
    crisis.write_fsg(crisis_path)

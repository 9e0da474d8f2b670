"""The `lantern` command. Errors the user can fix are printed plainly, without a traceback."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

from voice.config import load_config
from voice.errors import LanternError

_LOGGER = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except LanternError as exc:
        print(f"lantern: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lantern", description="An offline voice companion for new parents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Any, help_text: str, config: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if config:
            p.add_argument("--config", type=Path, default=None, help="config.yaml to use")
        p.set_defaults(handler=handler)
        return p

    command("run", _run, "listen on the microphone and answer on the speaker, until Ctrl-C")
    p = command("listen", _listen, "run recordings through the voice loop, as if heard by the microphone")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE.wav")
    p.add_argument("--json", action="store_true", help="print every event as one JSON object per line")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="write what Lantern says as WAV files")
    command("chat", _chat, "type to Lantern; it prints what it would say")
    p = command("say", _say, "speak a sentence with Lantern's voice")
    p.add_argument("text")
    p.add_argument("--out", type=Path, default=None, metavar="FILE.wav", help="write to a WAV file instead")
    command("devices", _devices, "list microphones and speakers", config=False)
    command("check", _check, "check config.yaml and dialogs/ and say what is wrong")
    p = command("bench", _bench, "measure how well and how fast Lantern hears and answers")
    p.add_argument("--quick", action="store_true", help="a small corpus, for a first look (minutes, not tens)")
    p.add_argument("--engines", default="available", help="comma-separated: pocketsphinx,vosk (default: every one installed)")
    p.add_argument("--no-room", action="store_true", help="skip the end-to-end check through the PulseAudio room")
    p.add_argument("--out", type=Path, default=Path("bench-results"), metavar="DIR", help="where to write results.json and results.md")
    p = command("models", _models, "get the vosk speech model", config=False)
    msub = p.add_subparsers(dest="models_command", required=True)
    d = msub.add_parser("download", help="download and install a vosk model (needs the internet once)")
    d.add_argument("language", choices=["en-us"])
    i = msub.add_parser("install", help="install a vosk model zip you downloaded elsewhere")
    i.add_argument("zip", type=Path)
    return parser


# --- commands -----------------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    from voice.app import build_brain
    from voice.stt import choose_engine, create_recognizer

    config = load_config(args.config)
    works = build_brain(config)
    engine = choose_engine(config)
    create_recognizer(config, works.dialogs)  # proves every word can be heard
    print(f"config: {config.path} ok")
    print(f"dialogs: {config.dialogs_path()} ok ({len(works.dialogs.commands.intents)} intents)")
    print(f"speech recogniser: {engine}")
    return 0


def _chat(args: argparse.Namespace) -> int:
    from voice.chat import chat

    chat(load_config(args.config), sys.stdin, sys.stdout)
    return 0


def _say(args: argparse.Namespace) -> int:
    from audio.sinks import SpeakerSink, scaled
    from audio.wav import write_wav
    from voice.tts import Synthesizer

    config = load_config(args.config)
    tts = Synthesizer(config.tts.rate_wpm, config.tts.voice)
    audio = tts.synthesize(args.text)
    if args.out:
        write_wav(args.out, scaled(audio, config.tts.volume))
        return 0
    with SpeakerSink(config.audio.output_device) as sink:
        sink.play(audio, config.tts.volume)
        while not sink.idle():
            time.sleep(0.05)
        time.sleep(0.2)
    return 0


def _devices(args: argparse.Namespace) -> int:
    from audio.devices import list_devices

    for d in list_devices():
        kinds = [k for k, n in (("in", d["max_input_channels"]), ("out", d["max_output_channels"])) if n > 0]
        print(f"{d['index']:3d}  {'/'.join(kinds):6s}  {d['name']}")
    return 0


def _listen(args: argparse.Namespace) -> int:
    from voice.listen import listen_files

    return listen_files(load_config(args.config), args.files, args.json, args.out, sys.stdout)


def _run(args: argparse.Namespace) -> int:
    from voice.live import run_live

    config = load_config(args.config)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        run_live(config, lambda event: print(json.dumps(event.to_dict()), flush=True))
    except KeyboardInterrupt:
        pass
    print("lantern: stopped", file=sys.stderr)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from voice.bench.runner import run_bench

    return run_bench(load_config(args.config), args)


def _models(args: argparse.Namespace) -> int:
    from voice.models import download_model, install_model_zip

    if args.models_command == "download":
        path = download_model(args.language)
    else:
        path = install_model_zip(args.zip)
    print(f"installed: {path}")
    return 0

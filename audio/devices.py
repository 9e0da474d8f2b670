"""Finding the microphone and speaker named in config.yaml."""

from __future__ import annotations

from typing import Any

from voice.errors import AudioDeviceError


def sounddevice() -> Any:
    """The sounddevice module, or a clear error when PortAudio is missing."""
    try:
        import sounddevice as sd
    except OSError as exc:  # sounddevice raises OSError when libportaudio is not installed
        raise AudioDeviceError(f"PortAudio is not installed ({exc}). Run: sudo apt-get install libportaudio2") from None
    return sd


def list_devices() -> list[dict[str, Any]]:
    sd = sounddevice()
    return [dict(d, index=i) for i, d in enumerate(sd.query_devices())]


def find_device(wanted: str | int | None, kind: str) -> int | None:
    """Index of the input or output device named (part of its name) or numbered in config; None = default."""
    channels_key = "max_input_channels" if kind == "input" else "max_output_channels"
    what = "microphone" if kind == "input" else "speaker"
    devices = [d for d in list_devices() if d[channels_key] > 0]
    if not devices:
        raise AudioDeviceError(
            f"no {what} found. Plug one in (or start PulseAudio), then run `lantern devices` to see what Lantern can use."
        )
    if wanted is None:
        return None
    if isinstance(wanted, int):
        if any(d["index"] == wanted for d in devices):
            return wanted
    else:
        for d in devices:
            if str(wanted).lower() in d["name"].lower():
                return int(d["index"])
    names = ", ".join(f"{d['index']}: {d['name']}" for d in devices)
    raise AudioDeviceError(f"no {what} matches audio.{kind}_device = {wanted!r} in config.yaml. Available: {names} (`lantern devices` lists them)")

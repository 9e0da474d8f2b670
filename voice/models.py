"""Getting the vosk model onto the machine: `lantern models download en-us` or `install FILE.zip`.

The one place Lantern ever touches the network, and only when a person asks it to.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from voice.config import data_dir
from voice.errors import LanternError, ModelMissingError
from voice.stt import VOSK_MODEL_NAME

_LOGGER = logging.getLogger(__name__)
MODEL_URLS = {"en-us": f"https://alphacephei.com/vosk/models/{VOSK_MODEL_NAME}.zip"}
MODEL_FILES = ("am/final.mdl", "conf/model.conf")
"""Files every vosk model has; their absence means a broken download."""


def download_model(language: str, timeout_seconds: float = 30.0) -> Path:
    url = MODEL_URLS[language]
    with tempfile.TemporaryDirectory(prefix="lantern-model-") as tmp:
        archive = Path(tmp) / "model.zip"
        try:
            with urllib.request.urlopen(url, timeout=timeout_seconds) as response, open(archive, "wb") as fh:
                shutil.copyfileobj(response, fh)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise LanternError(
                f"could not download {url} ({reason}). Check the internet connection, or download that file on "
                "another computer, copy it here, and run `lantern models install FILE.zip`."
            ) from None
        return install_model_zip(archive)


def install_model_zip(archive: Path) -> Path:
    """Unpack and verify a vosk model zip into the data directory."""
    target_root = data_dir()
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise ModelMissingError(f"{archive}: damaged at {bad}; download it again")
            names = zf.namelist()
            top = names[0].split("/")[0] if names else ""
            for required in MODEL_FILES:
                if f"{top}/{required}" not in names:
                    raise ModelMissingError(f"{archive}: not a vosk model ({required} is missing)")
            with tempfile.TemporaryDirectory(dir=_ensure(target_root)) as tmp:
                zf.extractall(tmp)
                _verify_loads(Path(tmp) / top)
                final = target_root / VOSK_MODEL_NAME
                if final.exists():
                    shutil.rmtree(final)
                (Path(tmp) / top).rename(final)
    except FileNotFoundError:
        raise ModelMissingError(f"{archive}: no such file") from None
    except zipfile.BadZipFile:
        raise ModelMissingError(f"{archive}: not a zip file; download it again") from None
    return final


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _verify_loads(model_dir: Path) -> None:
    import vosk

    vosk.SetLogLevel(-1)
    try:
        vosk.Model(str(model_dir))
    except Exception as exc:  # vosk raises a bare Exception
        raise ModelMissingError(f"the downloaded model does not load ({exc}); download it again") from None

"""A run's folder: never overwritten by accident, resumed only as it was started.

``fromax train --out DIR`` refuses a folder that already holds a run unless
``--overwrite`` says to replace it (its files are deleted first; other files
in the folder are left alone). ``--resume DIR`` reads ``DIR/run.json``,
checked field by field, refuses options that would change the run (only
``--steps``, ``--devices`` and ``--checkpoint-every`` may differ: they say how
long and how, not what), and refuses a target at or below the checkpoint's
step. A killed run can leave the checkpoint's temporary files behind (it is
written to a temporary file and renamed): they are deleted at the next save.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "CHECKPOINT",
    "MAY_CHANGE_ON_RESUME",
    "METRICS",
    "RUN_CONFIG",
    "RUN_FILES",
    "SUMMARY",
    "check_resume_options",
    "clean_temporaries",
    "finite",
    "json_text",
    "prepare_output",
    "read_run_config",
    "writable_folder",
    "write_json",
]

CHECKPOINT = "checkpoint.npz"
RUN_CONFIG = "run.json"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
RUN_FILES = (RUN_CONFIG, CHECKPOINT, METRICS, SUMMARY, "training.png")
# What resuming may change: how long the run goes on and how it is computed, not what it is.
MAY_CHANGE_ON_RESUME = ("steps", "devices", "checkpoint_every")
# run.json's fields and the JSON types each must have (None where the field may be null).
_FIELDS: dict[str, tuple[type, ...]] = {
    "optimizer": (str,),
    "learning_rate": (str, type(None)),
    "hyper": (dict,),
    "model": (str,),
    "gpt": (dict, type(None)),
    "dataset": (str,),
    "data": (str, type(None)),
    "steps": (int,),
    "batch_size": (int,),
    "seed": (int,),
    "eval_every": (int,),
    "devices": (int,),
    "checkpoint_every": (int,),
}


def writable_folder(folder: Path, option: str = "--out") -> Path:
    """``folder``, created if missing; a one-line error if it is a file or cannot be written."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{option} {folder} is a file, not a folder: pick a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # os.access says yes to root on a read-only mount: only writing a file tells.
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ValueError(
            f"{option} {folder} cannot be written ({reason}): pick another folder"
        ) from None
    return folder


def _temporaries(folder: Path) -> list[Path]:
    """Files a killed run leaves: the checkpoint's ``.checkpoint.npz.*.tmp`` and ours."""
    found = list(folder.glob(f".{CHECKPOINT}.*.tmp"))
    return found + [folder / f"{name}.tmp" for name in (RUN_CONFIG, SUMMARY)]


def clean_temporaries(folder: Path) -> None:
    """Deletes the temporary files an interrupted save left in ``folder``."""
    for path in _temporaries(Path(folder)):
        path.unlink(missing_ok=True)


def prepare_output(folder: Path, *, overwrite: bool) -> Path:
    """The folder for a new run: refused if it holds one, unless ``overwrite`` deletes it."""
    folder = writable_folder(folder)
    existing = [name for name in RUN_FILES if (folder / name).exists()]
    if existing and not overwrite:
        raise ValueError(
            f"--out {folder} already holds a run ({', '.join(existing)}): continue it with "
            f"--resume {folder}, replace it with --overwrite, or pick another --out"
        )
    for name in existing:
        (folder / name).unlink()
    clean_temporaries(folder)
    return folder


def read_run_config(folder: Path, option: str = "--resume") -> dict[str, Any]:
    """``folder/run.json``, every field present with its type, or a one-line error."""
    path = Path(folder) / RUN_CONFIG
    try:
        text = path.read_text(encoding="utf-8")
        config = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(
            f"{option} {folder}: {RUN_CONFIG} is not readable JSON ({reason[:100]}); "
            "it is damaged: start a new run with --out"
        ) from None
    if not isinstance(config, dict):
        raise ValueError(f"{option} {folder}: {RUN_CONFIG} is not a JSON object; it is damaged")
    for field, types in _FIELDS.items():
        value = config.get(field, ...)
        # bool is an int in Python, never a count here.
        if value is ... or not isinstance(value, types) or isinstance(value, bool):
            raise ValueError(
                f"{option} {folder}: {RUN_CONFIG} has no valid {field!r} "
                f"(found {str(value)[:40]!r}); it is damaged: start a new run with --out"
            )
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in config["hyper"].items()):
        raise ValueError(f"{option} {folder}: {RUN_CONFIG} has a malformed 'hyper'; it is damaged")
    return config


def _same(recorded: Any, given: Any) -> bool:
    if recorded == given:
        return True
    try:  # "0.1" and "1e-1" are the same learning rate
        return float(recorded) == float(given)
    except (TypeError, ValueError):
        return False


def _recorded(saved: Mapping[str, Any], name: str) -> Any:
    # The GPT's shape (--layers ... --context) is recorded under "gpt".
    if name in saved:
        return saved[name]
    return (saved.get("gpt") or {}).get(name)


def check_resume_options(saved: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """Refuses, in one line, an option given with ``--resume`` that differs from run.json.

    ``given`` holds only the options on the command line; ``hyper`` is a dict of
    ``--hyper`` texts, each compared with the recorded one of that name.
    """
    for name, value in given.items():
        if name in MAY_CHANGE_ON_RESUME:
            continue
        option = "--" + name.replace("_", "-")
        if name == "hyper":
            for key, text in value.items():
                recorded = saved["hyper"].get(key)
                if not _same(recorded, text):
                    raise ValueError(
                        f"--resume: --hyper {key}={text} differs from the run's "
                        f"{key}={recorded} (run.json); a resumed run keeps its arguments: "
                        "start a new run with --out to change them"
                    )
        elif not _same(_recorded(saved, name), value):
            raise ValueError(
                f"--resume: {option} {value} differs from the run's {_recorded(saved, name)} "
                "(run.json); a resumed run keeps its arguments: start a new run with --out "
                "to change them"
            )


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON's null):
    bare ``NaN`` is not JSON, and other programs refuse it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def json_text(value: Any, indent: int | None = None) -> str:
    """Strict JSON of ``value``: non-finite floats become null."""
    return json.dumps(finite(value), indent=indent, allow_nan=False)


def write_json(path: Path, value: Any) -> None:
    """Writes ``value`` to ``path`` through a temporary file, so a crash leaves the old one."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json_text(value, indent=2) + "\n")
    os.replace(temporary, path)

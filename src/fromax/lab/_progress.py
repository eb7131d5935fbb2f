"""A progress bar for training runs: steps/s, loss, accuracy and the learning rate."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """Redraws one line on a terminal; elsewhere prints a line every tenth of the run.

    Example:
        >>> import io
        >>> from fromax.lab._progress import Progress
        >>> out = io.StringIO()
        >>> bar = Progress(total=4, stream=out)
        >>> bar.update([{"step": 4, "loss": 0.5, "accuracy": 0.75, "learning_rate": 0.01}])
        >>> bar.close()
        >>> "4/4 steps" in out.getvalue() and "loss 0.5000" in out.getvalue()
        True
    """

    def __init__(self, total: int, *, stream: TextIO | None = None, label: str = "") -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.label = f"{label} " if label else ""
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.first_step: int | None = None
        self.last_printed = 0

    def update(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        last = records[-1]
        step = int(last["step"])
        if self.first_step is None:
            self.first_step = int(records[0]["step"]) - 1
        rate = (step - self.first_step) / max(time.perf_counter() - self.start, 1e-9)
        width = 24
        filled = int(width * step / self.total)
        parts = [
            f"{self.label}[{'#' * filled}{'.' * (width - filled)}] {step}/{self.total} steps",
            f"{rate:.0f} steps/s",
            f"loss {last['loss']:.4f}",
            f"accuracy {last['accuracy']:.3f}",
        ]
        if "learning_rate" in last:
            parts.append(f"learning rate {last['learning_rate']:.3g}")
        line = "  ".join(parts)
        if self.terminal:
            self.stream.write("\r" + line)
            self.stream.flush()
        elif step == self.total or step - self.last_printed >= max(1, self.total // 10):
            self.stream.write(line + "\n")
            self.last_printed = step

    def close(self) -> None:
        if self.terminal:
            self.stream.write("\n")
        self.stream.flush()

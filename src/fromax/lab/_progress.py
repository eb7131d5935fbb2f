"""A progress bar for training runs: the rate, loss, validation loss and the learning rate."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """Redraws one line on a terminal; elsewhere prints a line every tenth of the run.

    The rate is counted from the first update on: the training loop reports
    its first step alone, as soon as it is done, so the time to compile it
    is left out (on the demo, folding it in made the rate climb from 45 to
    339 steps/s over the run). ``tokens_per_step`` (batch x context, for a
    language model) adds tokens/s; ``exclude(seconds)`` leaves out time spent
    elsewhere, such as evaluations.

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

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        label: str = "",
        tokens_per_step: int | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.label = f"{label} " if label else ""
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.tokens_per_step = tokens_per_step
        self.clock = clock
        self.started: tuple[int, float] | None = None  # (step, time) of the first update
        self.excluded = 0.0
        self.val_loss: float | None = None
        self.last_printed = 0

    def exclude(self, seconds: float) -> None:
        """Leaves ``seconds`` (spent on something other than training steps) out of the rate.

        Only time after the first update counts: the rate's clock starts there.
        """
        if self.started is not None:
            self.excluded += seconds

    def rate(self, step: int) -> float | None:
        """Steps per second since the first update; None until there are steps to time."""
        if self.started is None or step <= self.started[0]:
            return None
        first_step, began = self.started
        return (step - first_step) / max(self.clock() - began - self.excluded, 1e-9)

    def update(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        last = records[-1]
        step = int(last["step"])
        for record in records:
            self.val_loss = record.get("val_loss", self.val_loss)
        if self.started is None:
            self.started = (step, self.clock())
        self._show(step, last)

    def _parts(self, step: int, last: dict[str, Any]) -> list[str]:
        width = 24
        filled = int(width * step / self.total)
        parts = [f"{self.label}[{'#' * filled}{'.' * (width - filled)}] {step}/{self.total} steps"]
        rate = self.rate(step)
        if rate is not None:
            parts.append(f"{rate:.0f} steps/s")
            if self.tokens_per_step:
                parts.append(f"{rate * self.tokens_per_step:.0f} tokens/s")
        parts += [f"loss {last['loss']:.4f}", f"accuracy {last['accuracy']:.3f}"]
        if self.val_loss is not None:
            parts.append(f"val loss {self.val_loss:.4f}")
        if "learning_rate" in last:
            parts.append(f"learning rate {last['learning_rate']:.3g}")
        return parts

    def _show(self, step: int, last: dict[str, Any]) -> None:
        line = "  ".join(self._parts(step, last))
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

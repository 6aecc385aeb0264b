"""Progress lines for job logs: ``[label] what 12/40 (30%), 8.1 s elapsed, ~19 s left``.

Rate-limited (one line every ``every`` seconds, plus the last one) so that a long solve shows where
it is without flooding the log. Lines go to the ``sgsweep`` logger (stderr by default).
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("sgsweep")


class Progress:
    def __init__(self, label: str, every: float = 5.0):
        self.label = label
        self.every = every
        self.t0 = time.perf_counter()
        self.last = -float("inf")

    def __call__(self, done: float, total: float, what: str = "") -> None:
        now = time.perf_counter()
        if now - self.last < self.every and done < total:
            return
        self.last = now
        elapsed = now - self.t0
        frac = done / total if total else 1.0
        eta = f", ~{elapsed * (1 - frac) / frac:.0f} s left" if 0 < frac < 1 else ""
        log.info("[%s] %s %g/%g (%.0f%%), %.1f s elapsed%s", self.label, what, done, total, 100 * frac, elapsed, eta)


def setup_logging(path: str | None = None, level: int = logging.INFO) -> None:
    """Send sgsweep's log lines to stderr and, if given, to ``path``."""
    logger = logging.getLogger("sgsweep")
    logger.setLevel(level)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    if not any(isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler) for h in logger.handlers):
        h = logging.StreamHandler()
        h.setFormatter(fmt)
        logger.addHandler(h)
    if path:
        fh = logging.FileHandler(path)
        fh.setFormatter(fmt)
        logger.addHandler(fh)

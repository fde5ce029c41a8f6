"""Progress reporting shared by long jobs: a callback type, and a tqdm bar adapter for the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: ``callback(done, total, message)``; total may be 0 when unknown
ProgressCallback = Callable[[int, int, str], None]


def no_progress(done: int, total: int, message: str = "") -> None:
    """A callback that ignores progress."""


@contextmanager
def tqdm_progress(description: str, total: int = 0, enabled: bool = True) -> Iterator[ProgressCallback]:
    """A progress callback that drives a tqdm bar on stderr (silent when ``enabled`` is False). The bar appears at the
    first report, so a job that finds its result cached prints nothing."""
    if not enabled:
        yield no_progress
        return
    from tqdm import tqdm

    bars: list[tqdm] = []
    try:
        def callback(done: int, total_now: int, message: str = "") -> None:
            if not bars:
                bars.append(tqdm(total=total or None, desc=description, unit="it", dynamic_ncols=True, leave=True))
            bar = bars[0]
            if total_now and bar.total != total_now:
                bar.total = total_now
            bar.n = done
            if message:
                bar.set_postfix_str(message, refresh=False)
            bar.refresh()

        yield callback
    finally:
        for bar in bars:
            bar.close()

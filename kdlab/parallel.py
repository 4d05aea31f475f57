"""Run one function over many files in worker processes, with a progress bar; failures are collected.

Used by ``kdlab reencode``, the representation cache and ``kdlab synth``: one bad file never stops
a batch; its error message is kept under its key for the summary at the end.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable, Hashable

from kdlab.errors import KdlabError
from kdlab.progress import bar as progress_bar


def _message(key, exc: Exception) -> str:
    if isinstance(exc, KdlabError):
        return str(exc).replace("\n", " ")
    return f"{key}: unexpected {type(exc).__name__}: {exc}"


def map_jobs(
    function: Callable,
    jobs: dict[Hashable, tuple],
    workers: int = 2,
    desc: str = "",
    progress: bool = True,
) -> tuple[dict, dict[Hashable, str]]:
    """``function(*args)`` for every ``key: args`` of ``jobs``; returns ``(results, failures)`` by key.

    With ``workers > 1`` the calls run in spawned processes (``function`` must be importable).
    """
    results, failures = {}, {}
    bar = progress_bar(total=len(jobs), desc=desc, unit="video", enabled=progress and bool(jobs))
    if workers <= 1 or len(jobs) <= 1:
        for key, args in jobs.items():
            try:
                results[key] = function(*args)
            except Exception as exc:  # one file's failure must not stop the batch
                failures[key] = _message(key, exc)
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(function, *args): key for key, args in jobs.items()}
            for future in as_completed(futures):
                key = futures[future]
                try:
                    results[key] = future.result()
                except Exception as exc:
                    failures[key] = _message(key, exc)
                bar.update()
    bar.close()
    return results, failures

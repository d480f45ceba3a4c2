"""Running test workers in threads: bounded in time, and their errors reported, not swallowed."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_in_threads(work: Callable[[int], None], count: int, timeout: float = 120) -> None:
    """Run ``work(0)`` … ``work(count - 1)`` in threads at once and wait for all of them; fail if
    one is still running after ``timeout`` seconds, and re-raise the first error any of them met."""
    errors: list[BaseException] = []

    def guarded(number: int) -> None:
        try:
            work(number)
        except BaseException as error:  # reported to the test's thread below
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), f"a worker still runs after {timeout} s"
    if errors:
        raise errors[0]

"""Split a layer's work over a few threads, each on its own slice of the batch.

NumPy releases the GIL inside copies, ufunc loops and BLAS calls, so threads that each
build a few images' im2col rows and multiply them (with BLAS on one thread) run truly in
parallel. That beats one big copy followed by one multi-threaded GEMM: the copy itself is
single-threaded in NumPy, and a chunk multiplied right after it is copied is read from
cache (the first airbench convolution's forward pass: 112 → 58 ms on 2 cores).

``set_workers(n)`` chooses the thread count (``--threads``); the training tasks then set
BLAS to one thread so that the two levels do not compete for the same cores.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")

_workers = 1
_pool: ThreadPoolExecutor | None = None


def set_workers(n: int) -> None:
    """Use ``n`` threads (1: run everything in the calling thread)."""
    global _workers, _pool
    if n < 1:
        raise ValueError(f"workers must be ≥ 1, got {n}")
    if n != _workers:
        if _pool is not None:
            _pool.shutdown()
        _pool = ThreadPoolExecutor(n, thread_name_prefix="derivations-layer") if n > 1 else None
        _workers = n


def run(work: Callable[[int, int], T]) -> list[T]:
    """``[work(i, count) for i in range(count)]`` with one call per worker thread, where
    ``count`` is the number of workers; worker ``i`` takes every ``count``-th slice."""
    count = _workers
    if _pool is None:
        return [work(0, 1)]
    futures = [_pool.submit(work, i, count) for i in range(count)]
    return [f.result() for f in futures]


BLOCK_BYTES = 512 << 10


def for_blocks(n: int, item_bytes: int, fn: Callable[[slice], None], block_bytes: int = BLOCK_BYTES) -> None:
    """Call ``fn(s)`` for consecutive slices ``s`` of ``range(n)`` of about ``block_bytes``
    each (``item_bytes`` per index), dealt out to the worker threads. A chain of
    elementwise passes over one block stays in cache, where over the whole array each
    pass would go to memory."""
    step = max(1, block_bytes // max(item_bytes, 1))

    def work(worker, count):
        for a in range(worker * step, n, count * step):
            fn(slice(a, min(a + step, n)))
    run(work)

"""Allocator settings for training loops that allocate the same large arrays every step."""

from __future__ import annotations

import ctypes


def reuse_freed_memory() -> bool:
    """Ask glibc to serve every allocation from its heap and never give freed memory back.

    By default glibc maps each large array (NumPy's activations, im2col matrices, …) freshly
    from the kernel and unmaps it when freed, so every training step page-faults its whole
    working set again; on a VM that fault costs more than the arithmetic (the first CNN
    convolution's backward went from about 1.0 s to 0.5 s at batch 256 here). With mmap off
    and no trimming, step t + 1 reuses step t's pages; the resident set stays at its peak.
    Process-wide; a no-op (False) off glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
    ok = mallopt(M_MMAP_MAX, 0) == 1
    ok &= mallopt(M_TRIM_THRESHOLD, ctypes.c_int(2**31 - 1)) == 1
    return bool(ok)

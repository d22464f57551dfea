"""Timing shared by the PyTorch benchmark scripts: the median of repeated runs after a warm-up,
as `fcs bench` measures."""
import time


def median_seconds(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]

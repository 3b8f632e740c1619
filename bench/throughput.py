"""Throughput benchmark: the whole pipeline beside plain tesseract on the same pages.

Renders N Vietnamese form pages (300 dpi PNG), then
  1. plain `tesseract PAGE out -l vie`, one single-threaded process per core
     (its fastest setting here), over all pages;
  2. the pipeline end to end: a fresh local stack on free ports, `sohoa worker`
     with one process per core, `sohoa ingest` of the same PNGs, timed from the
     ingest command to the final manifest (complete, or needs_review where a
     field of the generated forms needs a person's eye: stored either way);
and prints pages per minute for both, their ratio and the peak memory (RSS)
of each worker process. Not a test: timings belong here, not in assertions.

    .venv/bin/python bench/throughput.py --pages 40 [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from samples.generate import render_page  # noqa: E402
from storage.stack import free_ports  # noqa: E402

SOHOA = str(Path(sys.executable).parent / "sohoa")


def render(folder: Path, count: int, suffix: str) -> list[Path]:
    """Single-page files as a scanner writes them: PNG (lossless, large) or JPEG (quality 85)."""
    rng = random.Random(42)
    paths = []
    for index in range(count):
        image, _ = render_page(rng, 300, rng.uniform(-2, 2))
        path = folder / f"page-{index:04d}.{suffix}"
        image.save(path, dpi=(300, 300), quality=85)
        paths.append(path)
    return paths


def plain_tesseract(pages: list[Path], workers: int, out: Path) -> float:
    """Seconds for plain tesseract over all pages, `workers` single-threaded processes at once."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def one(page: Path) -> None:
        subprocess.run(["tesseract", str(page), str(out / page.stem), "-l", "vie"],
                       check=True, capture_output=True, env=env)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, pages))
    return time.perf_counter() - started


class PeakMemory(threading.Thread):
    """Samples the RSS of every process under a root process, keeping each one's peak."""

    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(root_pid)
        self.peaks: dict[int, int] = {}
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                for process in [self.root, *self.root.children(recursive=True)]:
                    if process.name().startswith("tesseract"):
                        continue  # tesseract's own memory is the same in both runs
                    rss = process.memory_info().rss
                    self.peaks[process.pid] = max(self.peaks.get(process.pid, 0), rss)
            except psutil.Error:
                pass
            time.sleep(0.05)


def cpu_seconds(process: psutil.Process) -> tuple[float, float]:
    """(own CPU seconds, CPU seconds of its finished children: tesseract for a worker)."""
    times = process.cpu_times()
    return times.user + times.system, times.children_user + times.children_system


def pipeline(pages: list[Path], workers: int, state: Path) -> tuple[float, dict[int, int], dict[str, float]]:
    s3_port, redis_port = free_ports()
    env = dict(os.environ, SOHOA_STATE_DIR=str(state), SOHOA_STACK_S3_PORT=str(s3_port),
               SOHOA_STACK_REDIS_PORT=str(redis_port))
    subprocess.run([SOHOA, "stack", "up"], check=True, env=env, capture_output=True)
    log = open(state / "worker.log", "wb")
    worker = subprocess.Popen([SOHOA, "worker", "--processes", str(workers)], env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while (state / "worker.log").read_bytes().count(b"ready for action") < workers:
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start; see " + str(state / "worker.log"))
            time.sleep(0.1)
        memory = PeakMemory(worker.pid)
        memory.start()
        services = {name: psutil.Process(int((state / f"{name}.pid").read_text())) for name in ("weed", "redis")}
        before = {name: cpu_seconds(p)[0] for name, p in services.items()}
        processes = psutil.Process(worker.pid).children()
        before_workers = [cpu_seconds(p) for p in processes]
        cli_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run([SOHOA, "ingest", *map(str, pages), "--dossier", "BENCH-0001", "--wait", "--json"],
                                env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        cli_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        memory.running = False
        after_workers = [cpu_seconds(p) for p in processes]
        cpu = {
            "tesseract": sum(a[1] - b[1] for a, b in zip(after_workers, before_workers)),
            "workers_python": sum(a[0] - b[0] for a, b in zip(after_workers, before_workers)),
            "s3_server": cpu_seconds(services["weed"])[0] - before["weed"],
            "redis": cpu_seconds(services["redis"])[0] - before["redis"],
            "ingest_cli": (cli_after.ru_utime + cli_after.ru_stime) - (cli_before.ru_utime + cli_before.ru_stime),
        }
        if json.loads(result.stdout)["status"] not in ("complete", "needs_review"):  # review: a field to check
            raise RuntimeError(f"the pipeline did not complete: {result.stdout[-2000:]} {result.stderr[-2000:]}")
        return elapsed, {pid: peak for pid, peak in memory.peaks.items() if pid != worker.pid}, cpu
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(30)
        subprocess.run([SOHOA, "stack", "down"], env=env, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--format", choices=["png", "jpg"], default="jpg", help="page image files (default jpg)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-") as tmp:
        folder = Path(tmp)
        (folder / "pages").mkdir()
        (folder / "plain").mkdir()
        (folder / "state").mkdir()
        pages = render(folder / "pages", args.pages, args.format)
        plain_s = plain_tesseract(pages, args.workers, folder / "plain")
        pipeline_s, peaks, cpu = pipeline(pages, args.workers, folder / "state")
    result = {
        "pages": args.pages,
        "format": args.format,
        "workers": args.workers,
        "plain_tesseract_pages_per_min": round(args.pages / plain_s * 60, 1),
        "pipeline_pages_per_min": round(args.pages / pipeline_s * 60, 1),
        "ratio": round(plain_s / pipeline_s, 3),
        "worker_peak_rss_mib": sorted(round(peak / 2**20) for peak in peaks.values()),
        "cpu_seconds_per_page": {name: round(value / args.pages, 3) for name, value in cpu.items()},
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.pages} pages of 300 dpi Vietnamese forms as {args.format.upper()} files, {args.workers} workers")
        print(f"plain tesseract -l vie : {result['plain_tesseract_pages_per_min']:7.1f} pages/min")
        print(f"sohoa end to end       : {result['pipeline_pages_per_min']:7.1f} pages/min")
        print(f"ratio (sohoa / plain)  : {result['ratio']:.2f}")
        print(f"peak RSS per worker process (MiB, without tesseract): {result['worker_peak_rss_mib']}")
        print(f"CPU seconds per page in the pipeline run: {result['cpu_seconds_per_page']}")


if __name__ == "__main__":
    main()

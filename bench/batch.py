"""Batch benchmark: an archive of many dossiers as one `sohoa batch` job, beside plain tesseract.

Generates an archive (a folder per dossier, named by its ID; each a receipt
and one to three documents of every type from samples/documents.py, rendered
at 300 dpi as bi-level TIFFs, as archive copiers send them), then
  1. plain `tesseract PAGE out -l vie` over every page, one single-threaded
     process per core;
  2. `sohoa batch ARCHIVE --workers N` on a fresh local stack, timed from the
     command to its end; the peak RSS of the batch command and of each worker
     process are sampled every second (flat, or growing with the archive?);
  3. with --resume-at 0.5: a second job on a second archive, the batch command
     and its workers killed (SIGKILL) when half the pages are read, then
     `sohoa jobs resume JOB --workers N`, timed.
Prints pages per minute for both, their ratio, memory, and the resume time.

    .venv/bin/python bench/batch.py --dossiers 300 [--resume-at 0.5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from samples.documents import dossier_code, make_dossier  # noqa: E402
from samples.generate import render_lines  # noqa: E402
from storage.stack import free_ports  # noqa: E402

SOHOA = str(Path(sys.executable).parent / "sohoa")


def write_archive(folder: Path, dossiers: int, seed: int) -> list[Path]:
    """A folder per dossier, one bi-level TIFF per document; returns every page as a PNG for plain tesseract.

    Dossiers are rendered in parallel (a 300 dpi page takes about 2 s to draw and spoil).
    """
    with ProcessPoolExecutor(os.cpu_count() or 2) as pool:
        done = pool.map(_write_dossier, [(folder, n, seed) for n in range(dossiers)])
        return [page for pages in done for page in pages]


def _write_dossier(job: tuple[Path, int, int]) -> list[Path]:
    folder, n, seed = job
    rng = random.Random(f"{seed}-{n}")
    code = dossier_code(rng)[:-4] + f"{n:04d}"  # unique in the archive
    (folder / code).mkdir(parents=True)
    pages = []
    for d, document in enumerate(make_dossier(rng, code, rng.randint(1, 3))):
        images = [render_lines(rng, lines, 300, rng.uniform(-1.5, 1.5), 4.0)[0].point(
            lambda v: 255 if v > 150 else 0).convert("1") for lines in document.pages]
        images[0].save(folder / code / f"{d:02d}-{document.doc_type}.tif", "TIFF", dpi=(300, 300),
                       save_all=True, append_images=images[1:], compression="group4")
        for p, image in enumerate(images):
            pages.append(folder.parent / f"{folder.name}-pages" / f"{n:04d}-{d:02d}-{p}.png")
            pages[-1].parent.mkdir(exist_ok=True)
            image.save(pages[-1], dpi=(300, 300))
    return pages


def plain_tesseract(pages: list[Path], out: Path) -> float:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def read(page: Path) -> None:
        subprocess.run(["tesseract", str(page), str(out / page.stem), "-l", "vie"], env=env, check=True,
                       capture_output=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(read, pages))
    return time.perf_counter() - started


class MemoryWatch:
    """Peak RSS of a command and of its worker processes, sampled every second."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.root = psutil.Process(process.pid)
        self.command_peak = 0
        self.worker_peaks: dict[int, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self.command_peak = max(self.command_peak, self.root.memory_info().rss)
                for child in self.root.children(recursive=True):
                    if "dramatiq" in " ".join(child.cmdline()):  # the supervisor and its worker processes
                        self.worker_peaks[child.pid] = max(self.worker_peaks.get(child.pid, 0),
                                                           child.memory_info().rss)
            except psutil.Error:
                continue

    def done(self) -> dict:
        self.stop.set()
        self.thread.join()
        return {"batch_command_mib": round(self.command_peak / 2**20),
                "worker_process_mib": sorted(round(v / 2**20) for v in self.worker_peaks.values())}


def run_job(args: list[str], env: dict, kill_at: int | None = None) -> tuple[float, dict, str]:
    """Run a sohoa job command; with kill_at, kill it and its workers (SIGKILL, as a crash) at that many pages read."""
    started = time.perf_counter()
    process = subprocess.Popen([SOHOA, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = MemoryWatch(process)
    if kill_at:
        while process.poll() is None and _pages_read(env) < kill_at:
            time.sleep(1)
        for victim in [*psutil.Process(process.pid).children(recursive=True), psutil.Process(process.pid)]:
            try:
                victim.kill()
            except psutil.Error:
                pass
    stdout, stderr = process.communicate()
    return time.perf_counter() - started, watch.done(), stdout + stderr


def _pages_read(env: dict) -> int:
    result = subprocess.run([SOHOA, "jobs", "list", "--json"], env=env, capture_output=True, text=True)
    jobs = json.loads(result.stdout or "[]")
    if not jobs:
        return 0
    shown = subprocess.run([SOHOA, "jobs", "show", jobs[-1]["job_id"], "--json"], env=env, capture_output=True,
                           text=True)
    return json.loads(shown.stdout)["progress"]["pages_read"] if shown.returncode == 0 else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=300)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--resume-at", type=float, default=0.0, help="also kill a second job at this share, resume it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sohoa-batch-") as tmp:
        root = Path(tmp)
        pages = write_archive(root / "archive", args.dossiers, args.seed)
        print(f"archive: {args.dossiers} dossiers, {len(pages)} pages", file=sys.stderr)
        (root / "plain").mkdir()
        plain_s = plain_tesseract(pages, root / "plain")
        redis_port, s3_port = free_ports()
        env = dict(os.environ, SOHOA_STATE_DIR=str(root / "state"), SOHOA_STACK_REDIS_PORT=str(redis_port),
                   SOHOA_STACK_S3_PORT=str(s3_port))
        subprocess.run([SOHOA, "stack", "up"], env=env, check=True, capture_output=True)
        try:
            batch_s, memory, output = run_job(["batch", str(root / "archive"), "--workers", str(args.workers),
                                               "--json"], env)
            answer = json.loads(output[: output.rindex("}") + 1])
            statuses = [row["status"] for row in answer["dossiers"]]
            result = {
                "dossiers": args.dossiers, "pages": len(pages),
                "plain_tesseract_pages_per_min": round(len(pages) / plain_s * 60, 1),
                "sohoa_batch_pages_per_min": round(len(pages) / batch_s * 60, 1),
                "ratio": round(plain_s / batch_s, 3), "peak_memory": memory,
                "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
            }
            if args.resume_at:
                second = root / "archive-2"
                total = len(write_archive(second, max(1, args.dossiers // 4), args.seed + 1))
                run_job(["batch", str(second), "--workers", str(args.workers)], env,
                        kill_at=int(total * args.resume_at))
                job_id = json.loads(subprocess.run([SOHOA, "jobs", "list", "--json"], env=env, capture_output=True,
                                                   text=True).stdout)[-1]["job_id"]
                resume_s, _, output = run_job(["jobs", "resume", job_id, "--workers", str(args.workers), "--json"],
                                              env)
                result["resume"] = {"pages": total, "killed_at": args.resume_at,
                                    "resume_seconds": round(resume_s, 1),
                                    "ok": bool(re.search(r'"status": "(complete|needs_review)"', output))}
        finally:
            subprocess.run([SOHOA, "stack", "down"], env=env, capture_output=True)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()

"""Batch benchmark: an archive of many dossiers as one `sohoa batch` job, beside plain tesseract.

Generates an archive (a folder per dossier, named by its ID; each a receipt
and one to three documents of every type from samples/documents.py, rendered
at 300 dpi as bi-level G4 TIFFs, one file per document, as archive copiers
send them), or takes one made before (--archive DIR keeps it), then
  1. plain `tesseract FILE out -l vie` over every file of the archive, one
     single-threaded process per core;
  2. `sohoa batch ARCHIVE --workers N` on a fresh local stack, timed from the
     command to its end. Every second the RSS of the batch command and of
     each worker process is sampled, and the CPU time of every process
     (workers, the tesseract they ran, the S3 server, Redis, the command);
     peak RSS is given for the first and the second half of the run: flat
     memory has the same peak in both;
  3. with --resume-at 0.5: a second job on a second archive, the batch command
     and its workers killed (SIGKILL) when half the pages are read, then
     `sohoa jobs resume JOB --workers N`, timed.
Prints pages per minute for both, their ratio, memory, CPU seconds a page and
the resume time. Not a test: timings belong here, not in assertions.

    .venv/bin/python bench/batch.py --dossiers 600 --archive /tmp/archive-600 [--resume-at 0.5] [--json]
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


def archive_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.tif"))


def write_archive(folder: Path, dossiers: int, seed: int) -> list[Path]:
    """A folder per dossier, one bi-level TIFF per document; returns the files.

    Dossiers are rendered in parallel (a 300 dpi page takes about 2 s to draw and spoil).
    """
    with ProcessPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(_write_dossier, [(folder, n, seed) for n in range(dossiers)]))
    return archive_files(folder)


def _write_dossier(job: tuple[Path, int, int]) -> None:
    folder, n, seed = job
    rng = random.Random(f"{seed}-{n}")
    code = dossier_code(rng)[:-4] + f"{n:04d}"  # unique in the archive
    (folder / code).mkdir(parents=True)
    for d, document in enumerate(make_dossier(rng, code, rng.randint(1, 3))):
        images = [render_lines(rng, lines, 300, rng.uniform(-1.5, 1.5), 4.0)[0].point(
            lambda v: 255 if v > 150 else 0).convert("1") for lines in document.pages]
        images[0].save(folder / code / f"{d:02d}-{document.doc_type}.tif", "TIFF", dpi=(300, 300),
                       save_all=True, append_images=images[1:], compression="group4")


def page_count(files: list[Path]) -> int:
    from PIL import Image

    total = 0
    for path in files:
        with Image.open(path) as image:
            total += getattr(image, "n_frames", 1)
    return total


def plain_tesseract(files: list[Path], out: Path) -> float:
    """Seconds for plain tesseract over every file (all its pages), one single-threaded process per core."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def read(path: Path) -> None:
        subprocess.run(["tesseract", str(path), str(out / f"{path.parent.name}-{path.stem}"), "-l", "vie"],
                       env=env, check=True, capture_output=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(read, files))
    return time.perf_counter() - started


class Watch:
    """Samples, every second, the RSS and CPU time of a command, its worker processes and the stack's services."""

    def __init__(self, process: subprocess.Popen, services: dict[str, psutil.Process]) -> None:
        self.root = psutil.Process(process.pid)
        self.services = services
        self.started = time.monotonic()
        self.rss: dict[str, list[tuple[float, int]]] = {}  # "command" or "worker PID" -> (seconds, rss)
        self.cpu: dict[str, tuple[float, float]] = {}  # name -> (own CPU s, CPU s of its finished children)
        self.service_start = {name: self._cpu(p) for name, p in services.items()}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    @staticmethod
    def _cpu(process: psutil.Process) -> tuple[float, float]:
        times = process.cpu_times()
        return times.user + times.system, times.children_user + times.children_system

    def run(self) -> None:
        while not self.stop.wait(1.0):
            now = time.monotonic() - self.started
            try:
                # The worker processes are the children of Dramatiq's supervisor, itself the command's child.
                watched = [("command", self.root)] + [
                    (f"worker {child.pid}", child) for child in self.root.children(recursive=True)
                    if child.ppid() != self.root.pid and "dramatiq" in " ".join(child.cmdline())]
                for name, process in watched:
                    self.rss.setdefault(name, []).append((now, process.memory_info().rss))
                    self.cpu[name] = self._cpu(process)
                for name, process in self.services.items():
                    own, _ = self._cpu(process)
                    self.cpu[name] = (own - self.service_start[name][0], 0.0)
            except psutil.Error:
                continue

    def done(self, pages: int) -> dict:
        self.stop.set()
        self.thread.join()
        half = (time.monotonic() - self.started) / 2

        def peaks(series: list[tuple[float, int]]) -> list[int]:
            first = [rss for t, rss in series if t <= half] or [0]
            second = [rss for t, rss in series if t > half] or [0]
            return [round(max(first) / 2**20), round(max(second) / 2**20)]

        # A worker forking tesseract shows, for an instant, a child with its own command line: not a worker.
        workers = [name for name in self.rss if name.startswith("worker") and len(self.rss[name]) >= 3]
        cpu = {"tesseract": sum(self.cpu[n][1] for n in workers), "workers_python": sum(self.cpu[n][0] for n in workers),
               "batch_command": self.cpu.get("command", (0, 0))[0],
               **{name: self.cpu.get(name, (0, 0))[0] for name in self.services}}
        return {"peak_rss_mib_first_half_second_half": {
                    "batch_command": peaks(self.rss.get("command", [])),
                    "workers": sorted(peaks(self.rss[n]) for n in workers)},
                "cpu_seconds_per_page": {name: round(value / max(1, pages), 3) for name, value in cpu.items()}}


def run_job(args: list[str], env: dict, pages: int, kill_at: int | None = None) -> tuple[float, dict, str]:
    """Run a sohoa job command; with kill_at, kill it and its workers (SIGKILL, as a crash) at that many pages read."""
    state = Path(env["SOHOA_STATE_DIR"])
    services = {name: psutil.Process(int((state / f"{pid}.pid").read_text()))
                for name, pid in (("s3_server", "weed"), ("redis", "redis"))}
    started = time.perf_counter()
    process = subprocess.Popen([SOHOA, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = Watch(process, services)
    if kill_at:
        while process.poll() is None and _pages_read(env) < kill_at:
            time.sleep(1)
        for victim in [*psutil.Process(process.pid).children(recursive=True), psutil.Process(process.pid)]:
            try:
                victim.kill()
            except psutil.Error:
                pass
    stdout, stderr = process.communicate()
    return time.perf_counter() - started, watch.done(pages), stdout + stderr


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
    parser.add_argument("--archive", type=Path, help="the archive's folder: made there if missing, kept, reused")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--resume-at", type=float, default=0.0, help="also kill a second job at this share, resume it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sohoa-batch-") as tmp:
        root = Path(tmp)
        archive = args.archive or root / "archive"
        files = archive_files(archive) if archive.is_dir() else write_archive(archive, args.dossiers, args.seed)
        pages = page_count(files)
        dossiers = len({path.parent for path in files})
        print(f"archive {archive}: {dossiers} dossiers, {len(files)} files, {pages} pages", file=sys.stderr)
        (root / "plain").mkdir()
        plain_s = plain_tesseract(files, root / "plain")
        print(f"plain tesseract: {plain_s:.0f} s", file=sys.stderr)
        s3_port, redis_port = free_ports()
        env = dict(os.environ, SOHOA_STATE_DIR=str(root / "state"), SOHOA_STACK_REDIS_PORT=str(redis_port),
                   SOHOA_STACK_S3_PORT=str(s3_port))
        subprocess.run([SOHOA, "stack", "up"], env=env, check=True, capture_output=True)
        try:
            batch_s, measured, output = run_job(["batch", str(archive), "--workers", str(args.workers), "--json"],
                                                env, pages)
            answer = json.loads(output[: output.rindex("}") + 1])
            statuses = [row["status"] for row in answer["dossiers"]]
            result = {
                "dossiers": dossiers, "files": len(files), "pages": pages, "workers": args.workers,
                "plain_tesseract_pages_per_min": round(pages / plain_s * 60, 1),
                "sohoa_batch_pages_per_min": round(pages / batch_s * 60, 1),
                "ratio": round(plain_s / batch_s, 3), **measured,
                "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
            }
            if args.resume_at:
                second = root / "archive-2"
                files = write_archive(second, max(1, dossiers // 4), args.seed + 1)
                total = page_count(files)
                run_job(["batch", str(second), "--workers", str(args.workers)], env, total,
                        kill_at=int(total * args.resume_at))
                job_id = json.loads(subprocess.run([SOHOA, "jobs", "list", "--json"], env=env, capture_output=True,
                                                   text=True).stdout)[-1]["job_id"]
                resume_s, _, output = run_job(["jobs", "resume", job_id, "--workers", str(args.workers), "--json"],
                                              env, total)
                result["resume"] = {"pages": total, "killed_at": args.resume_at,
                                    "resume_seconds": round(resume_s, 1),
                                    "ok": bool(re.search(r'"status": "(complete|needs_review)"', output))}
        finally:
            subprocess.run([SOHOA, "stack", "down"], env=env, capture_output=True)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()

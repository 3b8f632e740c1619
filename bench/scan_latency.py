"""Counter latency: from the last page leaving the scanner to the dossier complete in object storage.

A 10-page dossier of rendered Vietnamese forms (300 dpi, grey) is fed through
the same scan session as `sohoa scan` (pipeline/counter.py), at the pace of a
30 pages-a-minute feeder, into a fresh stack with one worker process per core.
The same pages are then read by plain `tesseract -l vie`, one after the other,
and the sum of those times is printed beside the latency.

    .venv/bin/python bench/scan_latency.py [--pages 10] [--ppm 30]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from samples.generate import render_page  # noqa: E402
from scanners.base import ScannedPage  # noqa: E402
from storage.stack import free_ports  # noqa: E402

SOHOA = str(Path(sys.executable).parent / "sohoa")


class PacedFeeder:
    """Rendered pages handed over at a feeder's pace: the scanner's side of the session."""

    name = "bench-feeder"

    def __init__(self, pages: list, pages_per_minute: float) -> None:
        self.images, self.interval = pages, 60 / pages_per_minute

    def pages(self) -> Iterator[ScannedPage]:
        for index, image in enumerate(self.images):
            time.sleep(self.interval)
            yield ScannedPage(index, image, 300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--ppm", type=float, default=30, help="feeder speed, pages a minute")
    args = parser.parse_args()
    rng = random.Random(10)
    images = [render_page(rng, 300, rng.uniform(-2, 2))[0] for _ in range(args.pages)]
    with tempfile.TemporaryDirectory(prefix="sohoa-latency-") as tmp:
        state = Path(tmp)
        s3_port, redis_port = free_ports()
        os.environ.update(SOHOA_STATE_DIR=str(state), SOHOA_STACK_S3_PORT=str(s3_port),
                          SOHOA_STACK_REDIS_PORT=str(redis_port))
        subprocess.run([SOHOA, "stack", "up"], check=True, capture_output=True)
        log = open(state / "worker.log", "wb")
        worker = subprocess.Popen([SOHOA, "worker", "--processes", str(os.cpu_count() or 2)], stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            while (state / "worker.log").read_bytes().count(b"ready for action") < (os.cpu_count() or 2):
                time.sleep(0.1)
            from pipeline.counter import scan_into_dossier
            from pipeline.settings import load_settings
            from pipeline.steps import Workspace

            ws = Workspace.open(load_settings())
            captured: list[float] = []

            def on_event(kind: str, **fields) -> None:
                if kind == "captured":
                    captured.append(time.perf_counter())

            manifests, count = scan_into_dossier(ws, "BENCH-COUNTER-0001", PacedFeeder(images, args.ppm),
                                                 on_event, timeout_s=600)
            latency = time.perf_counter() - captured[-1]
            manifest = manifests["BENCH-COUNTER-0001"]
            assert manifest["status"] in ("complete", "needs_review"), manifest  # stored; review is about fields
        finally:
            os.killpg(worker.pid, 15)
            worker.wait(30)
            subprocess.run([SOHOA, "stack", "down"], capture_output=True)
        plain = 0.0
        for index, image in enumerate(images):
            path = state / f"page-{index}.png"
            image.save(path, dpi=(300, 300))
            started = time.perf_counter()
            subprocess.run(["tesseract", str(path), str(state / f"plain-{index}"), "-l", "vie"], check=True,
                           capture_output=True, env=dict(os.environ, OMP_THREAD_LIMIT="1"))
            plain += time.perf_counter() - started
    print(f"{count} pages fed at {args.ppm:g} pages/min, {os.cpu_count()} worker processes")
    print(f"last page off the feeder -> dossier complete in storage: {latency:5.1f} s")
    print(f"plain tesseract -l vie, the same pages one after another:  {plain:5.1f} s")


if __name__ == "__main__":
    main()

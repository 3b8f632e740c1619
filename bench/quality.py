"""Scan quality benchmark: text accuracy, orientation, deskew and bytes per page on degraded scans.

Renders N pages degraded like poor scans (skew within ±5°, 10% turned by a
quarter or half, noise, blur, JPEG, grey or black-and-white, 200–300 dpi;
samples/generate.py `degraded_page`), then reads each
  - with plain `tesseract PAGE - -l vie` on the raw image,
  - with sohoa's stages (quality warnings, straighten, even_out, OCR, stored
    form, page PDF, PDF/A), as a worker runs them,
  - optionally with OCRmyPDF (`--deskew --rotate-pages --clean --optimize 2
    --output-type pdfa-2`; `pip install ocrmypdf` and `apt-get install
    ghostscript unpaper`; benchmark only, not a dependency of sohoa),
and prints page CER (median and mean), orientation accuracy, deskew error,
bytes per page, and preprocessing time against OCR time. A second set turns
`--orientation` pages (a third of them with one to three lines) all four ways.

    .venv/bin/python bench/quality.py --pages 30 [--ocrmypdf] [--settings] [--json]

--settings also compares OCR settings on the straightened pages: psm 3/4/6
and vie against vie+eng.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from rapidfuzz.distance import Levenshtein  # noqa: E402

from pipeline.assemble import build_pdf, encode_page_image, page_pdf, stored_form  # noqa: E402
from pipeline.ocr import Tesseract  # noqa: E402
from pipeline.preprocess import even_out, straighten  # noqa: E402
from pipeline.quality import quality_warnings  # noqa: E402
from samples.generate import degraded_page, render_page  # noqa: E402


def cer(found: str, truth: str) -> float:
    found, truth = " ".join(found.split()), " ".join(truth.split())
    return Levenshtein.distance(found, truth) / len(truth)


def summary(values: list[float], digits: int = 4) -> dict:
    return {"median": round(statistics.median(values), digits), "mean": round(statistics.fmean(values), digits)}


def orientation_accuracy(count: int, seed: int) -> dict:
    """Every page in all four turns; a third of them sparse (one to three lines of text)."""
    rng = random.Random(seed)
    right = total = 0
    sparse_right = sparse_total = 0
    for index in range(count):
        dpi = rng.choice([200, 300])
        lines = rng.choice([1, 2, 3]) if index % 3 == 0 else None
        image, _ = render_page(rng, dpi, rng.uniform(-5, 5), noise=rng.uniform(3, 10), max_lines=lines)
        for rotation in (0, 90, 180, 270):
            ok = straighten(image.rotate(rotation, expand=True, fillcolor=255), dpi).rotation_applied == rotation
            right, total = right + ok, total + 1
            if lines:
                sparse_right, sparse_total = sparse_right + ok, sparse_total + 1
    return {"checked": total, "accuracy": round(right / total, 4),
            "sparse_checked": sparse_total, "sparse_accuracy": round(sparse_right / max(1, sparse_total), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--ocrmypdf", action="store_true", help="also run OCRmyPDF on every page")
    parser.add_argument("--settings", action="store_true", help="also compare psm and language settings")
    parser.add_argument("--orientation", type=int, default=30, help="pages turned four ways (0 to skip)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.ocrmypdf and not shutil.which("ocrmypdf") and not (Path(sys.executable).parent / "ocrmypdf").exists():
        sys.exit("ocrmypdf not found: .venv/bin/pip install ocrmypdf; apt-get install ghostscript unpaper pngquant")
    rng = random.Random(args.seed)
    engine = Tesseract(["vie"], 4)
    rows = []
    variants = {"psm3 vie": Tesseract(["vie"], 3), "psm6 vie": Tesseract(["vie"], 6),
                "psm4 vie+eng": Tesseract(["vie", "eng"], 4)} if args.settings else {}
    with tempfile.TemporaryDirectory(prefix="sohoa-quality-") as tmp:
        folder = Path(tmp)
        for index in range(args.pages):
            image, truth, meta = degraded_page(rng)
            dpi = meta["dpi"]
            source = folder / f"page-{index:03d}.{'png' if image.mode == '1' else 'jpg'}"
            image.save(source, dpi=(dpi, dpi), quality=95)
            row = dict(meta)

            plain = subprocess.run(["tesseract", str(source), "-", "-l", "vie"], capture_output=True, text=True)
            row["plain_cer"] = cer(plain.stdout, truth)

            started = time.perf_counter()
            warnings = quality_warnings(image, dpi)
            straight = straighten(image, dpi)
            for_ocr = even_out(straight.image)
            prepared = time.perf_counter()
            text = engine.recognize(for_ocr, dpi)
            read = time.perf_counter()
            pdf = build_pdf([page_pdf(encode_page_image(stored_form(straight.image), 85), text.text_layer_pdf)],
                            "bench", "bench/page")
            row.update(
                sohoa_cer=cer(text.text, truth), preprocess_s=prepared - started, ocr_s=read - prepared,
                orientation_ok=straight.rotation_applied == meta["rotation"],
                skew_error=abs(straight.skew_corrected_deg - meta["skew"]), sohoa_bytes=len(pdf),
                warnings=[w["code"] for w in warnings],
            )
            for name, variant in variants.items():
                row[f"{name} cer"] = cer(variant.recognize(for_ocr, dpi).text, truth)

            if args.ocrmypdf:
                out, sidecar = folder / f"ocrmypdf-{index}.pdf", folder / f"ocrmypdf-{index}.txt"
                subprocess.run(["ocrmypdf", "-q", "-l", "vie", "--output-type", "pdfa-2", "--optimize", "2",
                                "--deskew", "--rotate-pages", "--clean", "--image-dpi", str(dpi),
                                "--sidecar", str(sidecar), "--jobs", "1", str(source), str(out)], check=True)
                row.update(ocrmypdf_cer=cer(sidecar.read_text(encoding="utf-8"), truth),
                           ocrmypdf_bytes=out.stat().st_size)
            rows.append(row)
            if not args.json:
                print(f"page {index:3d} {meta}: plain {row['plain_cer']:.3f} sohoa {row['sohoa_cer']:.3f}"
                      + (f" ocrmypdf {row['ocrmypdf_cer']:.3f}" if args.ocrmypdf else ""), file=sys.stderr)

    result = {
        "pages": args.pages,
        "cer_plain_tesseract": summary([r["plain_cer"] for r in rows]),
        "cer_sohoa": summary([r["sohoa_cer"] for r in rows]),
        "orientation_accuracy": round(sum(r["orientation_ok"] for r in rows) / len(rows), 4),
        "turned_pages": sum(1 for r in rows if r["rotation"]),
        "skew_error_deg": {"median": round(statistics.median(r["skew_error"] for r in rows), 3),
                           "max": round(max(r["skew_error"] for r in rows), 3)},
        "bytes_per_page_sohoa": summary([r["sohoa_bytes"] for r in rows], 0),
        "preprocess_over_ocr_time": round(sum(r["preprocess_s"] for r in rows) / sum(r["ocr_s"] for r in rows), 3),
        "pages_with_warnings": sum(1 for r in rows if r["warnings"]),
    }
    for name in variants:
        result[f"cer {name}"] = summary([r[f"{name} cer"] for r in rows])
    if args.orientation:
        result["orientation_four_ways"] = orientation_accuracy(args.orientation, args.seed + 1)
    if args.ocrmypdf:
        result["cer_ocrmypdf"] = summary([r["ocrmypdf_cer"] for r in rows])
        result["bytes_per_page_ocrmypdf"] = summary([r["ocrmypdf_bytes"] for r in rows], 0)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()

"""PDF/A-2b two ways, on the same OCRed pages: pikepdf (what sohoa uses) and Ghostscript.

Times each, and checks each output with pikepdf's PDF/A validator, qpdf and
pdffonts. Needs Ghostscript (`apt-get install ghostscript`), which sohoa
itself does not.

    .venv/bin/python bench/pdfa.py [--pages 3]
"""

from __future__ import annotations

import argparse
import io
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pikepdf
import pikepdf.pdfa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.assemble import build_pdf, encode_page_image, page_pdf  # noqa: E402
from pipeline.ocr import Tesseract  # noqa: E402
from pipeline.preprocess import deskew  # noqa: E402
from samples.generate import render_page  # noqa: E402

SRGB = Path(pikepdf.__file__).parent / "pdfa" / "data" / "sRGB.icc"
PDFA_DEF = """%!
[/_objdef {{icc_PDFA}} /type /stream /OBJ pdfmark
[{{icc_PDFA}} <</N 3>> /PUT pdfmark
[{{icc_PDFA}} ({icc}) (r) file /PUT pdfmark
[/_objdef {{OutputIntent_PDFA}} /type /dict /OBJ pdfmark
[{{OutputIntent_PDFA}} <</Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile {{icc_PDFA}}
  /OutputConditionIdentifier (sRGB)>> /PUT pdfmark
[{{Catalog}} <</OutputIntents [ {{OutputIntent_PDFA}} ]>> /PUT pdfmark
"""


def verdict(path: Path) -> str:
    report = pikepdf.pdfa.validate_written(path, "2b")
    qpdf = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True).returncode
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout.splitlines()[2:]
    embedded = all(row.split()[-5] == "yes" for row in fonts)
    return f"validator {'pass' if report.passed else 'FAIL'}, qpdf rc {qpdf}, fonts embedded {embedded}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(8)
    engine = Tesseract(["vie"], 4)
    pages = []
    for _ in range(args.pages):
        image = deskew(render_page(rng, 300, rng.uniform(-2, 2))[0]).image
        pages.append(page_pdf(encode_page_image(image, 85), engine.recognize(image, 300).text_layer_pdf))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        ours = folder / "pikepdf.pdf"
        ours.write_bytes(build_pdf(pages, "bench", "bench/pdfa"))
        pikepdf_s = time.perf_counter() - started

        plain = pikepdf.new()  # the same pages joined, not yet PDF/A, for Ghostscript
        sources = [pikepdf.open(io.BytesIO(page)) for page in pages]
        for source in sources:
            plain.pages.append(source.pages[0])
        plain.save(folder / "joined.pdf")
        (folder / "PDFA_def.ps").write_text(PDFA_DEF.format(icc=SRGB))
        theirs = folder / "gs.pdf"
        started = time.perf_counter()
        subprocess.run(["gs", "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", f"--permit-file-read={SRGB}",
                        "-dPDFA=2", "-dPDFACompatibilityPolicy=1", "-sColorConversionStrategy=RGB",
                        "-sDEVICE=pdfwrite", f"-sOutputFile={theirs}", str(folder / "PDFA_def.ps"),
                        str(folder / "joined.pdf")], check=True)
        gs_s = time.perf_counter() - started
        for name, path, seconds in (("pikepdf", ours, pikepdf_s), ("ghostscript", theirs, gs_s)):
            print(f"{name:12s} {seconds * 1000:7.0f} ms  {path.stat().st_size:>9,} bytes  {verdict(path)}")


if __name__ == "__main__":
    main()

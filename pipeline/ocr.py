"""Stage 3, OCR: one tesseract run per page gives its text, its words and its text layer.

Running tesseract once with several outputs (txt, tsv, text-only PDF) costs a
single recognition; running it once per output would triple the slowest stage.
The text-only PDF is tesseract's own invisible text, placed on the words; the
assemble stage lays it over the page image.

The engine is reached through the small `OcrEngine` protocol so another engine
can be plugged in beside tesseract without touching the stages around it.
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Protocol

import pytesseract
from pytesseract.pytesseract import run_tesseract
from PIL import Image

from pipeline.text import nfc


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels
    line: tuple[int, int, int]  # block, paragraph, line: words of one printed line share it

    def as_dict(self) -> dict:
        return {"text": self.text, "confidence": self.confidence, "bbox": list(self.bbox), "line": list(self.line)}


@dataclass(frozen=True)
class PageText:
    text: str
    words: list[Word]
    mean_confidence: float
    text_layer_pdf: bytes = field(repr=False)


class OcrEngine(Protocol):
    """What the pipeline needs of an OCR engine."""

    def describe(self) -> dict:
        """Engine name with version and languages, as the record's `ocr` entry."""
        ...

    def recognize(self, image: Image.Image, dpi: int) -> PageText:
        ...


@cache
def tesseract_version() -> str:
    return str(pytesseract.get_tesseract_version())


class Tesseract:
    """Tesseract through pytesseract, single-threaded (OMP_THREAD_LIMIT=1 is set by the worker)."""

    def __init__(self, languages: list[str], psm: int, timeout_s: int = 300) -> None:
        self.languages = languages
        self.psm = psm
        self.timeout_s = timeout_s

    def describe(self) -> dict:
        return {"engine": f"tesseract {tesseract_version()}", "languages": list(self.languages), "psm": self.psm}

    def recognize(self, image: Image.Image, dpi: int) -> PageText:
        with tempfile.TemporaryDirectory(prefix="sohoa-ocr-") as tmp:
            # Uncompressed TIFF: compressing a 300 dpi page (PNG) costs more than tesseract
            # saves in reading it, and leptonica reads TIFF faster than PNM (0.40 s vs 0.53 s).
            source = Path(tmp) / "page.tif"
            image.save(source)
            base = Path(tmp) / "out"
            config = (
                f"--psm {self.psm} --dpi {dpi} -c textonly_pdf=1 "
                "-c tessedit_create_tsv=1 -c tessedit_create_txt=1"
            )
            run_tesseract(
                str(source), str(base), extension="pdf", lang="+".join(self.languages),
                config=config, timeout=self.timeout_s,
            )
            text = (Path(tmp) / "out.txt").read_text(encoding="utf-8")
            words = parse_tsv((Path(tmp) / "out.tsv").read_text(encoding="utf-8"))
            pdf = (Path(tmp) / "out.pdf").read_bytes()
        confidences = [w.confidence for w in words]
        mean = round(sum(confidences) / len(confidences), 1) if confidences else 0.0
        return PageText(nfc(text).strip(), words, mean, pdf)


def parse_tsv(tsv: str) -> list[Word]:
    """The words of tesseract's TSV output (level 5 rows), blanks dropped."""
    words = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = nfc(row.get("text") or "").strip()
        if row["level"] != "5" or not text or float(row["conf"]) < 0:
            continue
        left, top, width, height = (int(row[k]) for k in ("left", "top", "width", "height"))
        line = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        words.append(Word(text, round(float(row["conf"]), 1), (left, top, left + width, top + height), line))
    return words

"""One page from scanned image to read page: the per-page stages in order, as one plain function.

quality warnings (on the page as scanned) -> straighten -> even out -> OCR ->
the receipt's QR code (only on pages whose text says receipt: decoding costs
more than a glance at the text) -> the page's searchable PDF. The worker step
(`steps.process_page`) and the benchmarks call this same function.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from pipeline.assemble import encode_page_image, page_pdf, stored_form
from pipeline.ocr import OcrEngine
from pipeline.preprocess import even_out, straighten
from pipeline.quality import quality_warnings
from pipeline.receipt import read_dossier_code
from pipeline.text import fold

# Folded words that only a receipt prints near its QR code.
RECEIPT_WORDS = ("tiep nhan ho so", "ma ho so", "so ho so")


@dataclass(frozen=True)
class ReadPage:
    result: dict  # what ocr.json holds: text, words, warnings, geometry, QR code
    pdf: bytes  # the straightened page under its invisible text


def read_page(image: Image.Image, dpi: int, engine: OcrEngine, jpeg_quality: int) -> ReadPage:
    warnings = quality_warnings(image, dpi)
    straight = straighten(image, dpi)
    text = engine.recognize(even_out(straight.image), dpi)
    folded = fold(text.text)
    code = read_dossier_code(straight.image) if any(w in folded for w in RECEIPT_WORDS) else None
    stored = encode_page_image(stored_form(straight.image), jpeg_quality)
    result = {
        "dpi": dpi, "rotation_applied": straight.rotation_applied, "skew_corrected_deg": straight.skew_corrected_deg,
        "mean_confidence": text.mean_confidence, "warnings": warnings, "qr_code": code,
        "text": text.text, "words": [w.as_dict() for w in text.words],
    }
    return ReadPage(result, page_pdf(stored, text.text_layer_pdf))

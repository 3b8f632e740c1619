"""The counter's receipt names its dossier: the portal code printed as a QR code.

No single QR decoder reads every noisy scan (see shared/notes/measured-facts.md),
so several are tried in turn, cheapest first, and only an answer in the
portal's code format is believed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from pipeline.dossier import PORTAL_CODE
from pipeline.ingest import BadInput, SourcePage, read_pages


def _views(grey: np.ndarray) -> Iterator[np.ndarray]:
    """The page as the decoders get it: as scanned, then half size and Otsu, then blurred and Otsu."""
    yield grey
    half = cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    yield cv2.threshold(half, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]
    yield cv2.threshold(cv2.GaussianBlur(grey, (5, 5), 0), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]


def read_dossier_code(image: Image.Image) -> str | None:
    """The dossier code in the page's QR code, or None when there is none that reads as a portal code."""
    grey = np.asarray(image if image.mode == "L" else image.convert("L"))
    decoders = (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector())
    for view in _views(grey):
        for decoder in decoders:
            try:
                text, _, _ = decoder.detectAndDecode(view)
            except cv2.error:
                continue
            text = (text or "").strip()
            if PORTAL_CODE.fullmatch(text):
                return text
    return None


def code_on_first_page(path: Path, dpi: int, max_pixels: int) -> str | None:
    """The dossier code of a scanned file whose first page is the receipt; None if it has none."""
    try:
        first = next(read_pages(path, dpi, max_pixels), None)
    except BadInput:
        return None
    return read_dossier_code(first.image()) if isinstance(first, SourcePage) else None

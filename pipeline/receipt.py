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


def _otsu(grey: np.ndarray) -> np.ndarray:
    return cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]


def _around_code(grey: np.ndarray) -> np.ndarray | None:
    """The full-resolution neighbourhood of a QR code found on a half-size copy, or None.

    Finding the code is most of a decoder's work, and it finds it as well at
    half size; decoding then needs only the code's own pixels: a receipt costs
    0.07-0.12 s instead of 0.37 s, with the same codes read (40 degraded receipts).
    """
    found, corners = cv2.QRCodeDetectorAruco().detect(cv2.resize(grey, None, fx=0.5, fy=0.5,
                                                                  interpolation=cv2.INTER_AREA))
    if not found or corners is None:
        return None
    corners = corners.reshape(-1, 2) * 2
    (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
    margin = 0.25 * max(x1 - x0, y1 - y0)  # the quiet zone around the code, and some
    height, width = grey.shape
    top, left = int(max(0, y0 - margin)), int(max(0, x0 - margin))
    bottom, right = int(min(height, y1 + margin)), int(min(width, x1 + margin))
    return grey[top:bottom, left:right] if bottom - top > 20 and right - left > 20 else None


def _views(grey: np.ndarray) -> Iterator[np.ndarray]:
    """The page as the decoders get it, cheapest first: around the code (as scanned, then blurred and
    Otsu), then the whole page as scanned, half size and Otsu, blurred and Otsu."""
    around = _around_code(grey)
    if around is not None:
        yield around
        yield _otsu(cv2.GaussianBlur(around, (5, 5), 0))
    yield grey
    yield _otsu(cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
    yield _otsu(cv2.GaussianBlur(grey, (5, 5), 0))


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

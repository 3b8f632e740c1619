"""Stage 1, ingest: a source file (PDF, TIFF, JPEG, PNG) to page images.

The file type is read from its first bytes, never from its name: counters
receive files renamed by e-mail clients and copiers. Anything that cannot
become a page raises `BadInput`, naming the file, the page when there is one,
and what the person at the counter should do about it.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from pdf2image import convert_from_path
from PIL import Image, UnidentifiedImageError

SIGNATURES = {
    b"%PDF": "pdf",
    b"II*\x00": "tiff",
    b"MM\x00*": "tiff",
    b"\xff\xd8\xff": "jpeg",
    b"\x89PNG": "png",
}


class BadInput(ValueError):
    """A file or page that cannot be digitized; never retried, always reported."""

    def __init__(self, file: str, reason: str, hint: str, page: int | None = None) -> None:
        self.file, self.reason, self.hint, self.page = file, reason, hint, page
        where = file if page is None else f"{file} page {page + 1}"
        super().__init__(f"{where}: {reason}. {hint}")

    def as_dict(self) -> dict:
        return {"file": self.file, "page": self.page, "reason": self.reason, "hint": self.hint}


@dataclass(frozen=True)
class SourcePage:
    """One page as an image file (JPEG, PNG), with the resolution it was scanned at.

    A page that already is an image file (a photo of the page, a one-page
    TIFF, a scanned PDF's own JPEG) keeps its bytes: re-encoding a 300 dpi
    page costs more than reading it, and would add a generation of loss.
    """

    index: int
    data: bytes
    dpi: int

    def image(self) -> Image.Image:
        return _page_mode(Image.open(io.BytesIO(self.data)))


def file_kind(path: Path) -> str:
    """'pdf', 'tiff', 'jpeg' or 'png', from the file's first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head:
        raise BadInput(path.name, "the file is empty (0 bytes)", "Scan or copy the file again.")
    for signature, kind in SIGNATURES.items():
        if head.startswith(signature):
            return kind
    raise BadInput(
        path.name, "not a PDF, TIFF, JPEG or PNG file",
        "Export the scan as PDF, TIFF, JPEG or PNG and add it again.",
    )


@dataclass(frozen=True)
class Inspection:
    """What the counter learns about a file before it is queued."""

    format: str
    pages: int
    page_is_file: bool  # a single-page JPEG, PNG or TIFF: the file itself is the page image
    dpi: int


def inspect(path: Path, dpi: int, max_pixels: int) -> Inspection:
    """Open the file far enough to know it is usable and count its pages.

    A single-page image is decoded whole, so a truncated photo is refused at
    the counter, while the citizen is still there, not later by a worker.
    """
    kind = file_kind(path)
    if kind == "pdf":
        with _open_pdf(path) as pdf:
            return Inspection(kind, len(pdf.pages), False, dpi)
    with _open_image(path, max_pixels) as image:
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            return Inspection(kind, frames, False, _image_dpi(image, dpi))
        try:
            image.load()
        except (OSError, ValueError) as exc:
            raise BadInput(path.name, f"the image data is damaged ({exc})", "Scan this page again.", 0) from None
        return Inspection(kind, 1, _is_page_file(image), _image_dpi(image, dpi))


def read_pages(path: Path, dpi: int, max_pixels: int) -> Iterator[SourcePage | BadInput]:
    """Yield the file's pages one at a time, so a long file never sits whole in memory.

    A page that cannot be read is yielded as its `BadInput` and the next page
    is tried; a file that cannot be opened at all raises `BadInput`.
    """
    if file_kind(path) == "pdf":
        yield from _pdf_pages(path, dpi, max_pixels)
        return
    with _open_image(path, max_pixels) as image:
        frames = getattr(image, "n_frames", 1)
        for index in range(frames):
            try:
                image.seek(index)
                _check_size(path, image.size, max_pixels, index)
                image.load()  # decoding is the check that the data is whole
                page_dpi = _image_dpi(image, dpi)
                if frames == 1 and _is_page_file(image):
                    yield SourcePage(index, path.read_bytes(), page_dpi)
                else:
                    yield SourcePage(index, staging_bytes(_page_mode(image.copy())), page_dpi)
            except BadInput as problem:
                yield problem
            except (OSError, ValueError) as exc:
                yield BadInput(path.name, f"the image data is damaged ({exc})", "Scan this page again.", index)


def _open_pdf(path: Path) -> pikepdf.Pdf:
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError:
        raise BadInput(
            path.name, "the PDF is encrypted (password protected)",
            "Ask for a copy without a password, or scan the paper original.",
        ) from None
    except pikepdf.PdfError as exc:
        raise BadInput(
            path.name, f"the PDF is damaged and cannot be read ({exc})",
            "Scan the paper original again or ask for a new copy of the file.",
        ) from None
    if len(pdf.pages) == 0:
        pdf.close()
        raise BadInput(path.name, "the PDF has no pages", "Check that the right file was chosen.")
    return pdf


def _open_image(path: Path, max_pixels: int) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            _check_size(path, image.size, max_pixels, None)
            return image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadInput(
            path.name, "the image is too large to be a scanned page",
            f"Scan at 300 dpi (at most {max_pixels:,} pixels a page).",
        ) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise BadInput(path.name, f"the image cannot be read ({exc})", "Scan the page again.") from None


def _check_size(path: Path, size: tuple[int, int], max_pixels: int, page: int | None) -> None:
    width, height = size
    if width * height > max_pixels:
        raise BadInput(
            path.name, f"the image is too large to be a scanned page ({width}x{height} pixels)",
            f"Scan at 300 dpi (at most {max_pixels:,} pixels a page).", page,
        )
    if width < 16 or height < 16:
        raise BadInput(path.name, f"the image is too small to be a page ({width}x{height} pixels)",
                       "Scan the page again.", page)


def _is_page_file(image: Image.Image) -> bool:
    """Whether a one-page image file can be staged as it is: a format and mode every stage reads."""
    return image.format in ("JPEG", "PNG", "TIFF") and image.mode in ("1", "L", "RGB")


def staging_bytes(image: Image.Image) -> bytes:
    """A page image encoded for staging, quickly (it is short-lived) and losslessly.

    Black and white as CCITT G4 TIFF (twice as fast to write as PNG and a third
    of its bytes), grey and colour as PNG at its fastest setting.
    """
    buffer = io.BytesIO()
    if image.mode == "1":
        image.save(buffer, "TIFF", compression="group4")
    else:
        image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def _page_mode(image: Image.Image) -> Image.Image:
    """Bi-level, grey or RGB: the three kinds of page the rest of the pipeline knows."""
    if image.mode in ("1", "L", "RGB"):
        return image
    if image.mode in ("I;16", "I;16B", "I", "F"):
        return image.point(lambda v: v / 256).convert("L")
    return image.convert("RGB")


def _image_dpi(image: Image.Image, default: int) -> int:
    """The resolution the file declares, or the configured one when it declares none."""
    declared = image.info.get("dpi", (0, 0))[0]
    return int(round(float(declared))) if declared and float(declared) >= 50 else default


def _pdf_pages(path: Path, dpi: int, max_pixels: int) -> Iterator[SourcePage | BadInput]:
    with _open_pdf(path) as pdf:
        for index, page in enumerate(pdf.pages):
            try:
                yield _pdf_page(path, page, index, dpi, max_pixels)
            except BadInput as problem:
                yield problem


def _pdf_page(path: Path, page: pikepdf.Page, index: int, dpi: int, max_pixels: int) -> SourcePage:
    """One PDF page as an image: its own scanned image when it is one, else rendered."""
    width_in = float(page.mediabox[2] - page.mediabox[0]) / 72
    height_in = float(page.mediabox[3] - page.mediabox[1]) / 72
    scanned = _single_image(page, width_in / height_in)
    if scanned is not None:
        _check_size(path, (int(scanned.Width), int(scanned.Height)), max_pixels, index)
        try:
            page_dpi = max(50, round(int(scanned.Width) / width_in))
            if scanned.get("/Filter") == pikepdf.Name.DCTDecode and scanned.get("/ColorSpace") in (
                pikepdf.Name.DeviceGray, pikepdf.Name.DeviceRGB
            ):
                data = scanned.read_raw_bytes()  # the stream is a JPEG file: keep it as is
                Image.open(io.BytesIO(data)).load()
                return SourcePage(index, data, page_dpi)
            return SourcePage(index, staging_bytes(_page_mode(pikepdf.PdfImage(scanned).as_pil_image())), page_dpi)
        except (pikepdf.PdfError, NotImplementedError, OSError, ValueError):
            pass  # an image filter Pillow cannot decode: let poppler render the page
    _check_size(path, (int(width_in * dpi), int(height_in * dpi)), max_pixels, index)
    try:
        (image,) = convert_from_path(path, dpi=dpi, first_page=index + 1, last_page=index + 1)
    except Exception as exc:  # pdf2image raises several types for one cause: poppler failed
        raise BadInput(path.name, f"the page cannot be rendered ({exc})",
                       "Scan the paper original of this page again.", index) from None
    return SourcePage(index, staging_bytes(_page_mode(image)), dpi)


def _single_image(page: pikepdf.Page, aspect: float) -> pikepdf.Object | None:
    """A scanned page's own image, to be taken as is rather than rendered again.

    Only when the page holds exactly one image with the page's proportions,
    unrotated, and no text: then the image is the page and re-rendering would
    only blur it.
    """
    try:
        images = list(page.get_images().values())
        if len(images) != 1 or int(page.obj.get("/Rotate", 0)) % 360 != 0:
            return None
        if pikepdf.parse_content_stream(page, "Tj TJ ' \""):
            return None
        image = images[0]
        if abs(int(image.Width) / int(image.Height) - aspect) > 0.02 * aspect:
            return None
        return image
    except (pikepdf.PdfError, AttributeError, ValueError, ZeroDivisionError):
        return None

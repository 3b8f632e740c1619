"""Stage 4, assemble: a document's pages into one searchable PDF/A-2b.

Each page is tesseract's invisible text layer with the page image drawn under
it. pikepdf writes the PDF/A itself (sRGB OutputIntent, XMP with pdfaid 2/B)
and checks the bytes it wrote with its own allowlist validator: 25 ms for a
3-page document here, against 250 ms for Ghostscript's -dPDFA=2 on the same
pages with the same verdicts (bench/pdfa.py), and one system package fewer.
"""

from __future__ import annotations

import gc
import io
from dataclasses import dataclass

import cv2
import numpy as np

import pikepdf
import pikepdf.pdfa
from PIL import Image
from pikepdf import Name


@dataclass(frozen=True)
class PageImage:
    """A page image encoded as it will be stored in the PDF."""

    data: bytes
    codec: str  # "jpeg" (grey or colour) or "g4" (1 bit, CCITT Group 4, lossless)
    width: int
    height: int
    colour: bool


# A page is kept in colour when this share of its pixels is clearly coloured
# (a red seal, a blue signature, a photo), and in grey when this share lies in
# solid mid-tone areas (a photo, a grey seal); thin anti-aliased glyph edges do
# not count. Otherwise it is printed text and is stored black and white.
MIN_COLOUR_SHARE = 0.0005
MIN_MIDTONE_SHARE = 0.0005


def stored_form(image: Image.Image) -> Image.Image:
    """The page as it will be stored: colour, grey or black and white, whichever keeps it faithful.

    A page of printed text loses nothing legible in black and white and takes a
    twentieth of the bytes; seals, photos and coloured ink keep their tones.
    """
    if image.mode == "1":
        return image
    small = image.reduce(2)
    if image.mode == "RGB":
        hsv = cv2.cvtColor(np.asarray(small), cv2.COLOR_RGB2HSV)
        coloured = cv2.erode(((hsv[..., 1] > 80) & (hsv[..., 2] > 60)).astype(np.uint8), np.ones((3, 3), np.uint8))
        if coloured.mean() > MIN_COLOUR_SHARE:
            return image
        image, small = image.convert("L"), small.convert("L")
    grey = np.asarray(small)
    midtones = cv2.erode(((grey > 70) & (grey < 190)).astype(np.uint8), np.ones((5, 5), np.uint8))
    if midtones.mean() > MIN_MIDTONE_SHARE:
        return image
    _, black_white = cv2.threshold(np.asarray(image), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return Image.fromarray(black_white).convert("1", dither=Image.Dither.NONE)


def encode_page_image(image: Image.Image, jpeg_quality: int) -> PageImage:
    """Black-and-white pages as CCITT G4 (lossless), grey and colour pages as JPEG.

    Never lossy bi-level compression (JBIG2 in its lossy mode): it can turn a 6
    into an 8 in an ID number.
    """
    if image.mode == "1":
        return PageImage(_g4(image), "g4", image.width, image.height, False)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=jpeg_quality, optimize=True)
    return PageImage(buffer.getvalue(), "jpeg", image.width, image.height, image.mode == "RGB")


def _g4(image: Image.Image) -> bytes:
    """The CCITT Group 4 data of a 1-bit image, by way of libtiff (Pillow's TIFF writer)."""
    buffer = io.BytesIO()
    image.save(buffer, "TIFF", compression="group4", strip_size=1 << 30)  # one strip: the whole image
    with Image.open(buffer) as tiff:
        offset, length = tiff.tag_v2[273][0], tiff.tag_v2[279][0]
    return buffer.getvalue()[offset:offset + length]


def _image_stream(pdf: pikepdf.Pdf, image: PageImage) -> pikepdf.Stream:
    common = {"Type": Name.XObject, "Subtype": Name.Image, "Width": image.width, "Height": image.height}
    if image.codec == "g4":
        # Pillow writes G4 with 0 as black (BlackIsZero); BlackIs1 says so to the reader.
        parameters = pikepdf.Dictionary(K=-1, Columns=image.width, Rows=image.height, BlackIs1=True)
        return pdf.make_stream(image.data, **common, ColorSpace=Name.DeviceGray, BitsPerComponent=1,
                               Filter=Name.CCITTFaxDecode, DecodeParms=parameters)
    colour_space = Name.DeviceRGB if image.colour else Name.DeviceGray
    return pdf.make_stream(image.data, **common, ColorSpace=colour_space,
                           BitsPerComponent=8, Filter=Name.DCTDecode)


def page_pdf(image: PageImage, text_layer: bytes) -> bytes:
    """One searchable page: the scan drawn under tesseract's invisible text.

    The text layer's page size comes from the image size and dpi given to
    tesseract, so drawing the image over the whole page puts it exactly under
    the words.
    """
    with pikepdf.open(io.BytesIO(text_layer)) as pdf:
        page = pdf.pages[0]
        name = page.add_resource(_image_stream(pdf, image), Name.XObject, prefix="Scan")
        x0, y0, x1, y1 = (float(v) for v in page.mediabox)
        draw = f"q {x1 - x0:.4f} 0 0 {y1 - y0:.4f} {x0:.4f} {y0:.4f} cm {name} Do Q\n"
        page.contents_add(pdf.make_stream(draw.encode()), prepend=True)
        buffer = io.BytesIO()
        pdf.save(buffer)
    return buffer.getvalue()


def build_pdf(pages: list[bytes], title: str, identifier: str) -> bytes:
    """Join searchable pages (from `page_pdf`), in order, into one PDF/A-2b."""
    out = pikepdf.new()
    sources = [pikepdf.open(io.BytesIO(page)) for page in pages]
    for source in sources:
        out.pages.append(source.pages[0])
    with out.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:title"] = title
        meta["dc:identifier"] = identifier
        meta["xmp:CreatorTool"] = "sohoa"
    buffer = io.BytesIO()
    # pikepdf's validator counts any warning raised while it parses content as a
    # violation, even a ResourceWarning from unrelated garbage (an unclosed file)
    # that the cycle collector happens to free meanwhile: no collection during
    # the save. (Collecting first instead cost 0.1 s a document in a worker.)
    collecting = gc.isenabled()
    gc.disable()
    try:
        pikepdf.pdfa.save(out, buffer, "2b")
    finally:
        if collecting:
            gc.enable()
    for source in sources:
        source.close()
    return buffer.getvalue()

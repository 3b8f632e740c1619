"""Stage 4, assemble: a document's pages into one searchable PDF/A-2b.

Each page is tesseract's invisible text layer with the page image drawn under
it. pikepdf writes the PDF/A itself (sRGB OutputIntent, XMP with pdfaid 2/B)
and checks the bytes it wrote with its own allowlist validator, in about
10 ms a document; Ghostscript's -dPDFA=2 took about 0.2 s and re-encodes the
images, so it is not used (see README, "Why these parts").
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

import pikepdf
import pikepdf.pdfa
from PIL import Image
from pikepdf import Name


@dataclass(frozen=True)
class PageImage:
    """A page image encoded as it will be stored in the PDF."""

    data: bytes
    codec: str  # "jpeg" (grey or colour) or "bilevel" (1 bit, Flate)
    width: int
    height: int
    colour: bool


def encode_page_image(image: Image.Image, jpeg_quality: int) -> PageImage:
    """Bi-level pages stay lossless 1-bit; grey and colour pages become JPEG.

    Never lossy bi-level compression: it can turn a 6 into an 8 in an ID number.
    """
    if image.mode == "1":
        return PageImage(zlib.compress(image.tobytes(), 9), "bilevel", image.width, image.height, False)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=jpeg_quality, optimize=True)
    return PageImage(buffer.getvalue(), "jpeg", image.width, image.height, image.mode == "RGB")


def _image_stream(pdf: pikepdf.Pdf, image: PageImage) -> pikepdf.Stream:
    common = {"Type": Name.XObject, "Subtype": Name.Image, "Width": image.width, "Height": image.height}
    if image.codec == "bilevel":
        return pdf.make_stream(image.data, **common, ColorSpace=Name.DeviceGray,
                               BitsPerComponent=1, Filter=Name.FlateDecode)
    colour_space = Name.DeviceRGB if image.colour else Name.DeviceGray
    return pdf.make_stream(image.data, **common, ColorSpace=colour_space,
                           BitsPerComponent=8, Filter=Name.DCTDecode)


def build_pdf(pages: list[tuple[PageImage, bytes]], title: str, identifier: str) -> bytes:
    """One PDF/A-2b from (page image, tesseract text-only PDF) pairs, in order.

    The text layer's page size comes from the image size and dpi given to
    tesseract, so drawing the image over the whole page puts it exactly under
    the invisible words.
    """
    out = pikepdf.new()
    layers = []
    for image, text_layer in pages:
        layer = pikepdf.open(io.BytesIO(text_layer))
        layers.append(layer)
        out.pages.append(layer.pages[0])
        page = out.pages[-1]
        name = page.add_resource(_image_stream(out, image), Name.XObject, prefix="Scan")
        box = [float(v) for v in page.mediabox]
        width, height = box[2] - box[0], box[3] - box[1]
        draw = f"q {width:.4f} 0 0 {height:.4f} {box[0]:.4f} {box[1]:.4f} cm {name} Do Q\n"
        page.contents_add(out.make_stream(draw.encode()), prepend=True)
    with out.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:title"] = title
        meta["dc:identifier"] = identifier
        meta["xmp:CreatorTool"] = "sohoa"
    buffer = io.BytesIO()
    pikepdf.pdfa.save(out, buffer, "2b")
    for layer in layers:
        layer.close()
    return buffer.getvalue()

"""Scanners reached through SANE (python-sane): USB and network scanners, and SANE's virtual ones.

SANE reports faults as status strings; each is turned here into a
`ScannerError` that says, in the counter's terms, what to do next. Pages that
came off the feeder before a fault have already been handed to the caller.
"""

from __future__ import annotations

from collections.abc import Iterator

import sane

from scanners.base import ScannedPage, ScannerError

SOURCES = {  # our name -> words that SANE backends use for it
    "flatbed": ("flatbed",),
    "adf": ("automatic document feeder", "adf front", "adf"),
    "adf-duplex": ("duplex",),
}

PAGE_SIZES = {"a4": (210.0, 297.0), "a5": (148.0, 210.0), "letter": (215.9, 279.4), "legal": (215.9, 355.6)}

FAULTS = {  # SANE status text -> (code, reason, what to do)
    "Document feeder jammed": ("jammed", "the paper jammed in the feeder",
                               "Clear the jam, put the pages not yet scanned back in the feeder and scan again: "
                               "the pages already captured are kept"),
    "Scanner cover is open": ("cover_open", "the scanner cover is open", "Close the cover and scan again"),
    "Document feeder out of documents": ("no_documents", "the feeder is empty",
                                         "Put the papers in the feeder and scan again"),
    "Error during device I/O": ("io_error", "the scanner stopped answering (input/output error)",
                                "Check the scanner's cable and power, then scan again"),
    "Device busy": ("busy", "the scanner is in use by another program", "Wait for it to finish and scan again"),
    "Out of memory": ("no_memory", "the scanner ran out of memory", "Scan fewer pages at a time"),
    "Access to resource has been denied": ("denied", "this user may not use the scanner",
                                           "Ask the administrator to add the user to the scanner group"),
}


def _fault(error: Exception, device: str) -> ScannerError:
    code, reason, hint = FAULTS.get(str(error), ("device_error", f"the scanner reported: {error}",
                                                 "Check the scanner and scan again"))
    return ScannerError(code, f"{device}: {reason}", hint)


def _option_value(kind: int, text: str) -> bool | int | float | str:
    """A SANE option's value from its text, by the option's type (0 bool, 1 int, 2 fixed, 3 string)."""
    if kind == 0:
        return text.lower() in ("1", "yes", "true", "on")
    if kind == 1:
        return int(text)
    if kind == 2:
        return float(text)
    return text


def list_devices() -> list[dict]:
    """The scanners SANE can see, with the resolutions, modes and sources each offers."""
    sane.init()
    found = []
    for name, vendor, model, kind in sane.get_devices():
        entry = {"name": name, "vendor": vendor, "model": model, "type": kind}
        try:
            with sane.open(name) as device:
                options = {option[1]: option for option in device.get_options()}
                for key in ("resolution", "mode", "source"):
                    if key in options:
                        entry[key] = options[key][8]
        except sane._sane.error as error:
            entry["error"] = str(error)
        found.append(entry)
    return found


class SaneScanner:
    """One SANE device, set up for a dossier: resolution, colour mode, source."""

    def __init__(self, device: str, dpi: int, mode: str, source: str, page_size: str = "a4",
                 options: dict[str, str] | None = None) -> None:
        if source not in SOURCES:
            raise ValueError(f"source {source!r}: use one of {', '.join(SOURCES)}")
        if page_size not in PAGE_SIZES:
            raise ValueError(f"page size {page_size!r}: use one of {', '.join(PAGE_SIZES)}")
        self.name, self.dpi, self.mode, self.source, self.page_size = device, dpi, mode, source, page_size
        self.options = options or {}  # further SANE options by name, e.g. {"page-height": "297"}

    def _open(self) -> sane.SaneDev:
        sane.init()
        try:
            device = sane.open(self.name)
        except sane._sane.error as error:
            if str(error) == "Invalid argument":
                known = ", ".join(d[0] for d in sane.get_devices()) or "none"
                raise ScannerError("not_found", f"no scanner named {self.name!r}",
                                   f"Check the cable and power; scanners seen now: {known}") from None
            raise _fault(error, self.name) from None
        options = {option[1]: option for option in device.get_options()}
        if "resolution" in options:
            device.resolution = self.dpi
        if "mode" in options and self.mode in options["mode"][8]:
            device.mode = self.mode
        if "source" in options:
            device.source = self._source_name(options["source"][8])
        if "br-x" in options and "br-y" in options:  # the scan area, clipped to what the device reaches
            width, height = PAGE_SIZES[self.page_size]
            device.tl_x, device.tl_y = 0, 0
            device.br_x = min(width, options["br-x"][8][1])
            device.br_y = min(height, options["br-y"][8][1])
        for key, text in self.options.items():
            if key not in options:
                device.close()
                raise ScannerError("bad_option", f"{self.name} has no option {key!r}",
                                   "See the options with `scanimage --help -d DEVICE`")
            setattr(device, key.replace("-", "_"), _option_value(options[key][4], text))
        return device

    def _source_name(self, offered: list[str]) -> str:
        for word in SOURCES[self.source]:
            for name in offered:
                if word in name.lower():
                    return name
        raise ScannerError("no_source", f"{self.name} has no {self.source} (it offers {', '.join(offered)})",
                           "Choose another --source")

    def pages(self) -> Iterator[ScannedPage]:
        device = self._open()
        try:
            if self.source == "flatbed":
                yield ScannedPage(0, self._snap(device), self.dpi)
                return
            index = 0
            while True:
                try:
                    image = device.scan()
                except sane._sane.error as error:
                    if str(error) == "Document feeder out of documents" and index > 0:
                        return  # the feeder is empty: the scan is complete
                    raise _fault(error, self.name) from None
                yield ScannedPage(index, image, self.dpi)
                index += 1
        finally:
            device.close()

    def _snap(self, device: sane.SaneDev):
        try:
            return device.scan()
        except sane._sane.error as error:
            raise _fault(error, self.name) from None

"""The one small interface every scanner driver implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from PIL import Image


@dataclass(frozen=True)
class ScannedPage:
    index: int  # 0 for the first page of this scan
    image: Image.Image
    dpi: int


class ScannerError(RuntimeError):
    """The device failed; `reason` says what happened, `hint` what the person at the counter should do."""

    def __init__(self, code: str, reason: str, hint: str) -> None:
        self.code, self.reason, self.hint = code, reason, hint
        super().__init__(f"{reason}. {hint}")

    def as_dict(self) -> dict:
        return {"code": self.code, "reason": self.reason, "hint": self.hint}


class PageSource(Protocol):
    """A scanner, a network scanner bridge, a folder: anything that hands over pages in order."""

    name: str

    def pages(self) -> Iterator[ScannedPage]:
        """Pages as they are captured; raises ScannerError when the device fails."""
        ...

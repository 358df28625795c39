"""What a file is, decided by its content: the accepted evidence types and nothing else."""
from __future__ import annotations

import codecs
import struct
import zipfile
from dataclasses import dataclass
from typing import BinaryIO


@dataclass(frozen=True)
class FileType:
    label: str
    mime: str
    extensions: tuple[str, ...]


PDF = FileType("PDF", "application/pdf", ("pdf",))
DOC = FileType("Word document (97-2003)", "application/msword", ("doc",))
DOCX = FileType("Word document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",))
XLS = FileType("Excel workbook (97-2003)", "application/vnd.ms-excel", ("xls",))
XLSX = FileType("Excel workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",))
PPT = FileType("PowerPoint presentation (97-2003)", "application/vnd.ms-powerpoint", ("ppt",))
PPTX = FileType("PowerPoint presentation",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation", ("pptx",))
ODT = FileType("OpenDocument text", "application/vnd.oasis.opendocument.text", ("odt",))
ODS = FileType("OpenDocument spreadsheet", "application/vnd.oasis.opendocument.spreadsheet", ("ods",))
ODP = FileType("OpenDocument presentation", "application/vnd.oasis.opendocument.presentation", ("odp",))
CSV = FileType("CSV", "text/csv", ("csv",))
TEXT = FileType("Plain text", "text/plain", ("txt", "text", "log", "md"))
PNG = FileType("PNG image", "image/png", ("png",))
JPEG = FileType("JPEG image", "image/jpeg", ("jpg", "jpeg"))

ACCEPTED_LABEL = ("PDF, Word, Excel, PowerPoint, OpenDocument (text, spreadsheet, presentation), "
                  "CSV, plain text, PNG or JPEG")
ODF_BY_MIMETYPE = {ODT.mime: ODT, ODS.mime: ODS, ODP.mime: ODP}
OOXML_BY_PART = {"word/document.xml": DOCX, "xl/workbook.xml": XLSX, "ppt/presentation.xml": PPTX}
OLE_STREAMS = ((b"W\x00o\x00r\x00d\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t\x00", DOC),
               (b"W\x00o\x00r\x00k\x00b\x00o\x00o\x00k\x00", XLS),
               (b"B\x00o\x00o\x00k\x00\x00\x00", XLS),
               (b"P\x00o\x00w\x00e\x00r\x00P\x00o\x00i\x00n\x00t\x00 \x00D\x00o\x00c\x00", PPT))
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Text that a browser or shell would treat as active content is refused even though it is valid UTF-8.
ACTIVE_TEXT_MARKERS = (b"<script", b"<html", b"<svg", b"<!doctype", b"<?xml", b"<iframe", b"<body",
                       b"javascript:")


def detect(stream: BinaryIO, size: int, name: str) -> FileType | None:
    """The accepted type of this content, or None if it is not one we accept."""
    stream.seek(0)
    head = stream.read(8192)
    stream.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(stream)
    if head.startswith(OLE_MAGIC):
        return _ole_type(stream)
    return _text_type(stream, head, name)


def _zip_type(stream: BinaryIO) -> FileType | None:
    """OOXML and ODF are both zips: tell them apart by their members."""
    try:
        with zipfile.ZipFile(stream) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                with zf.open("mimetype") as entry:  # read a bounded prefix: the entry could be a zip bomb
                    mimetype = entry.read(100).decode("ascii", "replace").strip()
                return ODF_BY_MIMETYPE.get(mimetype)
            if "[Content_Types].xml" in names:
                for part, filetype in OOXML_BY_PART.items():
                    if part in names:
                        return filetype
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, RuntimeError, NotImplementedError):
        return None
    finally:
        stream.seek(0)
    return None


def _ole_type(stream: BinaryIO) -> FileType | None:
    """Old Office files are OLE compound documents: look for the main stream's name in the directory."""
    stream.seek(0)
    header = stream.read(512)
    if len(header) < 512:  # too short to be a compound document
        return None
    sector_size = 1 << struct.unpack_from("<H", header, 0x1E)[0]
    first_dir = struct.unpack_from("<I", header, 0x30)[0]
    if sector_size not in (512, 4096) or first_dir >= 0xFFFFFFFA:
        return None
    stream.seek((first_dir + 1) * sector_size)
    directory = stream.read(sector_size * 4)
    stream.seek(0)
    for marker, filetype in OLE_STREAMS:
        if marker in directory:
            return filetype
    return None


def _text_type(stream: BinaryIO, head: bytes, name: str) -> FileType | None:
    """Plain text and CSV: valid UTF-8 throughout, no NUL bytes, nothing a browser would run."""
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<", b"#!", b"mz")) or any(m in head.lower() for m in ACTIVE_TEXT_MARKERS):
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    stream.seek(0)
    try:
        while chunk := stream.read(1024 * 1024):
            if b"\x00" in chunk:
                return None
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    finally:
        stream.seek(0)
    return CSV if name.lower().endswith(".csv") else TEXT

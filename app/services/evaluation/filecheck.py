"""What a file really is, read from its bytes (never from its name), and a safe name to keep it under.

Allowed: PDF; Word, Excel and PowerPoint (OOXML and the older OLE files); OpenDocument text, sheet and
presentation; JPEG, PNG, WebP and HEIC/HEIF photos (what phones take). Zip-based formats are told apart
by their members (`[Content_Types].xml` + `word/` …, or the ODF `mimetype` entry), since their first bytes
are those of any zip; signatures of the simple formats come from the `filetype` package."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype


@dataclass(frozen=True)
class Kind:
    mime: str
    extensions: tuple[str, ...]  # the first is the one added to a name that has none
    label: str


_KINDS = [
    Kind("application/pdf", ("pdf",), "PDF"),
    Kind("image/jpeg", ("jpg", "jpeg", "jpe", "jfif"), "JPEG"),
    Kind("image/png", ("png",), "PNG"),
    Kind("image/webp", ("webp",), "WebP"),
    Kind("image/heic", ("heic", "heif"), "HEIC"),
    Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",), "Word"),
    Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",), "Excel"),
    Kind("application/vnd.openxmlformats-officedocument.presentationml.presentation", ("pptx",), "PowerPoint"),
    Kind("application/vnd.oasis.opendocument.text", ("odt",), "OpenDocument"),
    Kind("application/vnd.oasis.opendocument.spreadsheet", ("ods",), "OpenDocument"),
    Kind("application/vnd.oasis.opendocument.presentation", ("odp",), "OpenDocument"),
    Kind("application/msword", ("doc",), "Word 97-2003"),
    Kind("application/vnd.ms-excel", ("xls",), "Excel 97-2003"),
    Kind("application/vnd.ms-powerpoint", ("ppt",), "PowerPoint 97-2003"),
]
BY_MIME = {k.mime: k for k in _KINDS}
MIME_TYPES = [k.mime for k in _KINDS]
EXTENSIONS = [ext for k in _KINDS for ext in k.extensions]
# what the phone's file picker offers: the camera and the gallery (image/*), PDFs and office files
ACCEPT = "image/*,application/pdf," + ",".join(f".{ext}" for ext in EXTENSIONS if ext not in ("jpe", "jfif"))

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_KINDS = ("application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint")
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_OOXML_DIRS = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_SIMPLE = {"application/pdf", "image/jpeg", "image/png", "image/webp"}


def detect(data: bytes) -> list[Kind]:
    """The kinds the content may be: one, or the three OLE formats (their headers are alike: the name
    decides among them), or none when the content is not an allowed type."""
    head = data[:8192]
    if head.startswith(_OLE):
        return [BY_MIME[m] for m in _OLE_KINDS]
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return [BY_MIME["image/heic"]]
    if head.startswith(b"PK\x03\x04"):
        kind = _zipped(data)
        return [BY_MIME[kind]] if kind else []
    guess = filetype.guess(head)
    return [BY_MIME[guess.mime]] if guess is not None and guess.mime in _SIMPLE else []


# An office file has tens, at most a few thousand, members. Python's zipfile reads the whole central
# directory into objects before anything can be asked: 20 MB of empty members is ~200,000 of them, seconds
# of CPU and hundreds of MB per upload. The directory is measured from the end record first.
MAX_ZIP_MEMBERS = 10_000
MAX_ZIP_DIRECTORY = 1024 * 1024
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"


def _zip_directory_fits(data: bytes) -> bool:
    """The end-of-central-directory record names few enough members in a small enough directory, and
    there is no zip64 record (zipfile would take its sizes instead, and no office file needs one here)."""
    end = data.rfind(_EOCD, max(0, len(data) - 65_536 - 22))
    if end < 0 or len(data) < end + 22:
        return False
    members = int.from_bytes(data[end + 10 : end + 12], "little")
    directory = int.from_bytes(data[end + 12 : end + 16], "little")
    if end >= 20 and data[end - 20 : end - 16] == _ZIP64_LOCATOR:
        return False
    return members <= MAX_ZIP_MEMBERS and directory <= MAX_ZIP_DIRECTORY


def _zipped(data: bytes) -> str | None:
    if not _zip_directory_fits(data):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size > 100:
                    return None
                mime = archive.read("mimetype").decode("ascii", "replace").strip()
                return mime if mime in BY_MIME and mime.startswith("application/vnd.oasis") else None
            if "[Content_Types].xml" in names:
                for prefix, mime in _OOXML_DIRS.items():
                    if any(n.startswith(prefix) for n in names):
                        return mime
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, ValueError, OSError):
        return None
    return None


_UNSAFE = re.compile(r'[<>:"/\\|?*]')
MAX_NAME = 120


def clean_name(raw: str | None) -> str:
    """The last path segment of what the sender called the file, in NFC, without control or format
    characters (a right-to-left override can fake an extension), without characters Windows refuses,
    without leading dots; Vietnamese letters stay as they are. May be empty."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:MAX_NAME]
    return name


def extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""

"""What an uploaded file really is, from its first bytes (never from its name or the browser's Content-Type)."""

from __future__ import annotations

# ISO-BMFF major brands of HEIF/HEIC images (bytes 8..12 after the `ftyp` box name).
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}

EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/heic": "heic"}


def sniff(head: bytes) -> str | None:
    """The content type of a file starting with `head` (at least 16 bytes): PDF, JPEG, PNG or HEIC; else None."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "image/heic"
    return None


def is_executable(head: bytes) -> bool:
    """Windows PE (MZ), ELF, Mach-O, or a script with a shebang."""
    return head.startswith((b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",
                            b"\xce\xfa\xed\xfe", b"#!"))

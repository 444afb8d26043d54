"""Uploaded images read from their bytes: type sniffed from the first bytes, size from the header (never by
decoding the pixels), the size caps of photos and drawn signatures. No queries, no writes."""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from decimal import Decimal

from django.conf import settings
from PIL import Image

from headframe.core.errors import TooLarge, ValidationFailed

# A phone photo is at most ~50 megapixels (8160 × 6120); a bigger image is a decompression bomb that would
# take gigabytes to draw in a browser or a PDF. Read from the file's header, never by decoding it.
MAX_PHOTO_SIDE = 10_000
MAX_PHOTO_PIXELS = 50_000_000

MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


def photo_max_bytes() -> int:
    return int(settings.SAFETY_PHOTO_MAX_BYTES)


def sniff_image(content: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the file's first bytes — JPEG, PNG or WebP — never from its name."""
    for magic, content_type, ext in MAGIC:
        if content.startswith(magic):
            return content_type, ext
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def check_photo(content: bytes) -> tuple[str, str]:
    limit = photo_max_bytes()
    if not content:
        raise ValidationFailed(loc=("body", "file"), type="empty", params={}, key="empty.photo")
    if len(content) > limit:
        raise ValidationFailed(
            loc=("body", "file"),
            type="too_large",
            params={
                "size": Decimal(f"{len(content) / 1048576:.1f}"),
                "limit": Decimal(f"{limit / 1048576:.1f}"),
            },
            key="too_large.photo",
        )
    kind = sniff_image(content)
    if kind is None:
        raise ValidationFailed(
            loc=("body", "file"), type="unsupported_type", params={}, key="unsupported_type.photo"
        )
    _check_dimensions(content)
    return kind


def image_size(content: bytes) -> tuple[int, int] | None:
    """(width, height) from the image's header, without decoding its pixels; None if it cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:  # reads the header only (no load())
                return image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return (MAX_PHOTO_SIDE + 1, MAX_PHOTO_SIDE + 1)  # past Pillow's own bomb limit: past ours too
    except Exception:  # Pillow raises UnidentifiedImageError, SyntaxError, struct.error… for a broken header
        return None


def _check_dimensions(content: bytes) -> None:
    size = image_size(content)
    if size is None:
        raise ValidationFailed(
            loc=("body", "file"), type="unreadable_image", params={}, key="unreadable_image.photo"
        )
    width, height = size
    if max(width, height) > MAX_PHOTO_SIDE or width * height > MAX_PHOTO_PIXELS:
        raise TooLarge(
            loc=("body", "file"),
            type="image_too_large",
            params={"w": width, "h": height, "side": MAX_PHOTO_SIDE, "mp": MAX_PHOTO_PIXELS // 1_000_000},
            key="image_too_large.photo",
        )


SIGNATURE_MAX_BYTES = 300 * 1024
SIGNATURE_MAX_SIDE = 2000
_DATA_URL = "data:image/png;base64,"


def signature_from_data_url(value: str) -> bytes | None:
    """The PNG a canvas gives as a data: URL (toDataURL), decoded; None when nothing was drawn. Anything
    but a PNG data URL of reasonable size is refused at `signature`."""
    value = (value or "").strip()
    if not value:
        return None
    loc = ("body", "signature")
    if not value.startswith(_DATA_URL):
        raise ValidationFailed(loc=loc, type="unsupported_type", params={}, key="unsupported_type.signature")
    if len(value) > SIGNATURE_MAX_BYTES * 4 // 3 + len(_DATA_URL) + 4:
        raise TooLarge(
            loc=loc, type="too_large", params={"kb": SIGNATURE_MAX_BYTES // 1024}, key="too_large.signature"
        )
    try:
        return base64.b64decode(value[len(_DATA_URL) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(
            loc=loc, type="unsupported_type", params={}, key="unsupported_type.signature"
        ) from None


def check_signature(content: bytes) -> None:
    loc = ("body", "signature")
    if len(content) > SIGNATURE_MAX_BYTES:
        raise TooLarge(
            loc=loc, type="too_large", params={"kb": SIGNATURE_MAX_BYTES // 1024}, key="too_large.signature"
        )
    if not content.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValidationFailed(loc=loc, type="unsupported_type", params={}, key="unsupported_type.signature")
    size = image_size(content)
    if size is None:
        raise ValidationFailed(loc=loc, type="unreadable_image", params={}, key="unreadable_image.signature")
    if max(size) > SIGNATURE_MAX_SIDE:
        raise TooLarge(
            loc=loc,
            type="image_too_large",
            params={"w": size[0], "h": size[1], "side": SIGNATURE_MAX_SIDE},
            key="image_too_large.signature",
        )

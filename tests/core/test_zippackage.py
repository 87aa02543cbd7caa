"""The shared zip reader and writer: unchanged parts copied byte for byte, replaced parts
compressed as the original was, and layouts that cannot be copied refused with a reason."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable

import pytest

from mergekit.core.zippackage import ZipLayoutError, ZipWriter, read_package, repack

PARTS = {
    "[Content_Types].xml": b"<Types/>" * 50,
    "word/document.xml": b"<w:document>hello</w:document>" * 200,
    "word/styles.xml": b"<w:styles/>" * 300,
}


def _zip(
    parts: dict[str, bytes] = PARTS,
    *,
    comment: bytes = b"",
    level: int = 6,
    method: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, (2024, 5, 6, 7, 8, 10))
            z.writestr(info, data, compress_type=method, compresslevel=level)
        z.comment = comment
    return out.getvalue()


def _rewrite(
    data: bytes, replaced: dict[str, bytes], added: dict[str, bytes] | None = None
) -> bytes:
    pkg = read_package(data)
    out = io.BytesIO()
    writer = ZipWriter(out)
    for part in pkg.parts:
        if part.name in replaced:
            writer.replace(part, replaced[part.name])
        else:
            writer.copy(part)
    for name, content in (added or {}).items():
        writer.add(name, content)
    writer.close(pkg.eocd)
    return out.getvalue()


def test_unchanged_parts_keep_their_stored_bytes_and_order() -> None:
    data = _zip()
    new = _rewrite(data, {"word/document.xml": b"<w:document>bye</w:document>"})
    before, after = read_package(data), read_package(new)
    assert [p.name for p in after.parts] == list(PARTS)
    for name in ("[Content_Types].xml", "word/styles.xml"):
        old, now = before.get(name), after.get(name)
        assert old is not None
        assert now is not None
        assert now.raw == old.raw
        # Central records differ only in the part's offset.
        assert now.central[:42] == old.central[:42]
        assert now.central[46:] == old.central[46:]
    with zipfile.ZipFile(io.BytesIO(new)) as z:
        assert z.testzip() is None
        assert z.read("word/document.xml") == b"<w:document>bye</w:document>"
        assert z.read("word/styles.xml") == PARTS["word/styles.xml"]


def test_replaced_part_keeps_its_time_and_is_compressed_as_its_option_bits_say() -> None:
    data = _super_fast(_zip(level=1))  # Excel marks its parts "super fast" (zlib level 1)
    content = b"".join(b"<c r='A%d'><v>%d</v></c>" % (i, i * 7919 % 1000) for i in range(3000))
    new = _rewrite(data, {"word/styles.xml": content})
    old, now = read_package(data).get("word/styles.xml"), read_package(new).get("word/styles.xml")
    assert old is not None
    assert now is not None
    assert now.info.date_time == (2024, 5, 6, 7, 8, 10)
    assert now.info.flag_bits & 0b110 == old.info.flag_bits & 0b110 == 0b110
    assert now.raw == zlib.compress(content, 1, -15)
    assert now.content() == content


def _super_fast(data: bytes) -> bytes:
    """The package with every part's option bits set to "super fast", as Excel writes them."""
    out = bytearray(data)
    for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = out.find(sig)
        while pos >= 0:
            out[pos + at] |= 0b110
            pos = out.find(sig, pos + 4)
    return bytes(out)


def test_a_stored_part_replaced_deflated_says_it_needs_version_2() -> None:
    data = bytearray(_zip(method=zipfile.ZIP_STORED))
    # Tools that store a part say it needs version 1.0 (zipfile itself writes 2.0).
    for sig, at in ((b"PK\x03\x04", 4), (b"PK\x01\x02", 6)):
        pos = data.find(sig)
        while pos >= 0:
            data[pos + at : pos + at + 2] = struct.pack("<H", 10)
            pos = data.find(sig, pos + 4)
    pkg = read_package(bytes(data))
    assert {p.info.extract_version for p in pkg.parts} == {10}
    out = io.BytesIO()
    writer = ZipWriter(out)
    for part in pkg.parts:
        writer.replace(part, b"<new/>" * 100, zipfile.ZIP_DEFLATED, 1)
    writer.close()
    for part in read_package(out.getvalue()).parts:
        assert part.info.compress_type == zipfile.ZIP_DEFLATED
        assert part.info.extract_version == 20
        assert struct.unpack("<H", part.local[4:6])[0] == 20
        assert part.content() == b"<new/>" * 100


def test_parts_with_data_descriptors_are_copied_whole_and_replaced_without_one() -> None:
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.buf = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            self.buf += b
            return len(b)

    stream = Unseekable()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in PARTS.items():
            z.writestr(name, content)
    data = bytes(stream.buf)
    assert all(p.info.flag_bits & 0x8 for p in read_package(data).parts)
    new = _rewrite(data, {"word/document.xml": b"<w:document/>"})
    after = read_package(new)
    doc = after.get("word/document.xml")
    assert doc is not None
    assert not doc.info.flag_bits & 0x8
    with zipfile.ZipFile(io.BytesIO(new)) as z:
        assert z.testzip() is None
        assert z.read("[Content_Types].xml") == PARTS["[Content_Types].xml"]


def test_added_parts_are_deterministic_and_the_comment_is_kept() -> None:
    data = _zip(comment=b"made by a school")
    first = _rewrite(data, {}, {"word/media/chart.png": b"\x89PNG fake"})
    second = _rewrite(data, {}, {"word/media/chart.png": b"\x89PNG fake"})
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert z.comment == b"made by a school"
        assert z.read("word/media/chart.png") == b"\x89PNG fake"
        assert z.getinfo("word/media/chart.png").date_time == (2026, 1, 1, 0, 0, 0)


def test_part_names_are_found_whatever_their_case() -> None:
    pkg = read_package(_zip())
    assert pkg.has("WORD/Document.XML")
    assert pkg.read("Word/Styles.xml") == PARTS["word/styles.xml"]
    with pytest.raises(KeyError):
        pkg.read("word/missing.xml")


def test_a_damaged_part_is_reported_when_read_not_when_opened() -> None:
    data = bytearray(_zip({"a.xml": b"A" * 1000}, method=zipfile.ZIP_STORED))
    body = data.index(b"AAAA")
    data[body] = ord("B")  # stored data no longer matches its CRC
    pkg = read_package(bytes(data))
    with pytest.raises(ZipLayoutError) as e:
        pkg.read("a.xml")
    assert e.value.reason == "damaged"


def _zip64() -> bytes:
    """A package with ZIP64 records, as a writer makes past 4 GB (the limit lowered here)."""
    limit = zipfile.ZIP64_LIMIT
    setattr(zipfile, "ZIP64_LIMIT", 100)  # noqa: B010 (a Final name to mypy)
    try:
        return _zip()
    finally:
        setattr(zipfile, "ZIP64_LIMIT", limit)  # noqa: B010


def _encrypted_flag() -> bytes:
    data = bytearray(_zip({"a.xml": b"secret"}))
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 8] |= 0x1
    data[6] |= 0x1
    return bytes(data)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: b"not a zip at all", "not a zip"),
        (lambda: b"prefix" + _zip(), "unusual"),
        (_zip64, "zip64"),
        (_encrypted_flag, "encrypted"),
    ],
    ids=["not-a-zip", "prefixed", "zip64", "encrypted"],
)
def test_layouts_that_cannot_be_copied_are_refused_with_a_reason(
    make: Callable[[], bytes], reason: str
) -> None:
    with pytest.raises(ZipLayoutError) as e:
        read_package(make())
    assert e.value.reason == reason


def test_repack_turns_unusual_layouts_into_ones_that_can_be_copied() -> None:
    for data in (b"prefix" + _zip(), _zip64()):
        pkg = read_package(repack(data))
        assert {p.name: p.content() for p in pkg.parts} == PARTS

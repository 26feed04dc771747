"""A generated corpus of hostile and broken PDFs for the reader (issue 12's standing fuzz test).

`corpus(n, seed)` yields `n` (name, bytes) pairs, the same ones for the same seed: small valid
seed PDFs (text, images, annotations, form XObjects, several pages) put through one or more
mutations: bit flips, byte runs overwritten, truncation, cross-reference damage, page and image
bombs, JavaScript actions, embedded files, deep nesting and reference loops. Whatever a file
holds, the reader must give a document or its own one-line error, never a traceback or a hang.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Callable, Iterator
from functools import lru_cache

import pymupdf

Mutation = Callable[[bytes, random.Random], bytes]


def _text_pdf(lines: list[str], pages: int = 1) -> bytes:
    doc = pymupdf.open()
    for p in range(pages):
        page = doc.new_page(width=612, height=792)
        for i, line in enumerate(lines):
            page.insert_text((72, 72 + 16 * i), f"{line} ({p + 1})", fontsize=11)
    data = doc.tobytes(garbage=0, deflate=False)
    doc.close()
    return data


def _rich_pdf() -> bytes:
    """Text, an image, a drawing, an annotation, a form XObject, hidden text: many object kinds."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 72), "ASSESSMENT: Type 2 diabetes mellitus.", fontsize=11)
    page.insert_text((72, 100), "Essential hypertension.", fontsize=11, color=(1, 1, 1))
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 8, 8), False)
    pix.clear_with(128)
    page.insert_image(pymupdf.Rect(300, 300, 340, 340), pixmap=pix)
    page.draw_rect(pymupdf.Rect(60, 200, 400, 230), color=(0, 0, 0), fill=(0.9, 0.9, 0.9))
    page.add_text_annot((500, 500), "note")
    src = pymupdf.open()
    src.new_page(width=200, height=100).insert_text((10, 50), "Gout.", fontsize=11)
    page.show_pdf_page(pymupdf.Rect(72, 400, 272, 500), src, 0)
    data = doc.tobytes(garbage=0, deflate=True)
    doc.close()
    return data


@lru_cache(maxsize=1)
def seeds() -> tuple[bytes, ...]:
    return (
        _text_pdf(["HPI: cough for two weeks.", "ASSESSMENT: Acute bronchitis."]),
        _text_pdf(["CKD stage 3a.", "Hyperlipidemia."], pages=3),
        _rich_pdf(),
    )


# -- mutations ----------------------------------------------------------------------------------


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice([1, 2, 8, 64])):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def overwrite_run(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    start = rng.randrange(len(out))
    length = rng.choice([4, 32, 256])
    fill = rng.choice([b"\x00", b"\xff", b"(", b"<<", b"0 0 R ", bytes([rng.randrange(256)])])
    out[start : start + length] = (fill * length)[:length]
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(1, len(data))]


def damage_xref(data: bytes, rng: random.Random) -> bytes:
    choice = rng.randrange(4)
    if choice == 0 and b"startxref" in data:  # point at nonsense
        cut = data.rindex(b"startxref")
        return data[:cut] + b"startxref\n" + str(rng.randrange(10**9)).encode() + b"\n%%EOF\n"
    if choice == 1 and b"xref" in data:  # drop the table
        start = data.find(b"\nxref")
        end = data.find(b"trailer", start)
        if start >= 0 and end > start:
            return data[:start] + data[end:]
    if choice == 2:  # shift every offset in the table
        return re.sub(
            rb"(\d{10}) (\d{5}) n",
            lambda m: b"%010d %s n" % (int(m[1]) + rng.randrange(-50, 50), m[2]),
            data,
        )
    return data.replace(b"/Root", b"/Rxxx", 1)


def _append_objects(data: bytes, objects: dict[int, bytes], root_patch: bytes | None) -> bytes:
    """An incremental update: new objects and a trailer pointing at the old one (MuPDF repairs
    the missing xref section, which is itself part of what is fuzzed)."""
    body = b"".join(b"\n%d 0 obj\n%s\nendobj\n" % (num, obj) for num, obj in objects.items())
    tail = data + body
    if root_patch is not None:
        tail += root_patch
    return tail + b"\n%%EOF\n"


def _catalog_number(data: bytes) -> int:
    found = re.search(rb"/Root (\d+) 0 R", data)
    return int(found[1]) if found else 1


def javascript(data: bytes, rng: random.Random) -> bytes:
    root = _catalog_number(data)
    js = b"app.alert('x'); this.exportDataObject({cName: 'a', nLaunch: 2});"
    return _append_objects(
        data,
        {
            9001: b"<< /Type /Action /S /JavaScript /JS (" + js + b") >>",
            root: b"<< /Type /Catalog /Pages 2 0 R /OpenAction 9001 0 R /Names "
            b"<< /JavaScript << /Names [(a) 9001 0 R] >> >> >>",
        },
        None,
    )


def embedded_file(data: bytes, rng: random.Random) -> bytes:
    doc = pymupdf.open(stream=data, filetype="pdf")
    if doc.needs_pass or doc.page_count == 0:
        return data
    payload = bytes(rng.randrange(256) for _ in range(rng.choice([16, 4096])))
    doc.embfile_add("patient.exe", payload, filename="patient.exe")
    out = doc.tobytes()
    doc.close()
    return out


def page_bomb(data: bytes, rng: random.Random) -> bytes:
    """A page tree that lies about its size, loops, or repeats one page many times."""
    kind = rng.randrange(4)
    if kind == 0:  # /Count far beyond the kids
        return re.sub(rb"/Count \d+", b"/Count 99999999", data, count=1)
    if kind == 1:  # the same page 2,000 times
        kids = b" ".join([b"3 0 R"] * 2000)
        return _append_objects(
            data, {2: b"<< /Type /Pages /Kids [" + kids + b"] /Count 2000 >>"}, None
        )
    if kind == 2:  # a page tree that contains itself
        return _append_objects(data, {2: b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"}, None)
    # a page 200 inches square (MuPDF's own limit is 14,400 pt)
    return re.sub(rb"/MediaBox \[[^\]]*\]", b"/MediaBox [0 0 14400 14400]", data, count=1)


def image_bomb(data: bytes, rng: random.Random) -> bytes:
    """An image claiming 30,000 x 30,000 pixels from a few kilobytes of Flate data."""
    side = rng.choice([30000, 65535])
    stream = zlib.compress(b"\x00" * 1_000_000, 9)
    image = (
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
        % (side, side, len(stream), stream)
    )
    content = b"q 600 0 0 700 0 0 cm /Bomb Do Q BT /F1 11 Tf 72 72 Td (HPI: cough.) Tj ET"
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 9003 0 R "
        b"/Resources << /XObject << /Bomb 9002 0 R >> /Font << /F1 << /Type /Font "
        b"/Subtype /Type1 /BaseFont /Helvetica >> >> >> >>"
    )
    return _append_objects(
        data,
        {
            9002: image,
            9003: b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            9004: page,
            2: b"<< /Type /Pages /Kids [9004 0 R] /Count 1 >>",
        },
        None,
    )


def deep_nesting(data: bytes, rng: random.Random) -> bytes:
    depth = rng.choice([1000, 100000])
    return _append_objects(data, {9005: b"[" * depth + b"]" * depth}, None)


def content_garbage(data: bytes, rng: random.Random) -> bytes:
    """Operators with wrong operands, unbalanced q/Q and BT/ET, huge numbers."""
    junk = rng.choice(
        [
            b"Q Q Q ET ET 1e308 1e308 Td (x) Tj",
            b"BT /NoSuchFont 11 Tf 72 72 Td (HPI: cough.) Tj",
            b"q " * 5000 + b"BT /F1 1e-30 Tf (x) Tj ET",
            b"999999999 0 0 999999999 0 0 cm BT 3 Tr 7 Tr -1 Tz (x) Tj ET",
        ]
    )
    return _append_objects(
        data, {9006: b"<< /Length %d >>\nstream\n%s\nendstream" % (len(junk), junk)}, None
    ).replace(b"/Contents ", b"/Contents 9006 0 R /Xontents ", 1)


MUTATIONS: dict[str, Mutation] = {
    "flip": flip_bits,
    "overwrite": overwrite_run,
    "truncate": truncate,
    "xref": damage_xref,
    "javascript": javascript,
    "embedded": embedded_file,
    "page-bomb": page_bomb,
    "image-bomb": image_bomb,
    "nesting": deep_nesting,
    "content": content_garbage,
}


def corpus(n: int, seed: int = 12) -> Iterator[tuple[str, bytes]]:
    """`n` named mutated PDFs; each applies one to three mutations to one seed PDF."""
    rng = random.Random(seed)
    names = sorted(MUTATIONS)
    base = seeds()
    for i in range(n):
        data = base[rng.randrange(len(base))]
        applied = [names[i % len(names)]]  # every mutation equally often
        applied += rng.sample(names, rng.choice([0, 0, 1, 2]))
        for name in applied:
            try:
                data = MUTATIONS[name](data, rng)
            except Exception:  # a mutation that cannot apply to already-broken bytes
                continue
            if not data:
                data = b"%PDF-1.4\n"
        yield f"fuzz-{i:05d}-{'+'.join(applied)}.pdf", data

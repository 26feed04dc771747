"""FHIR R4 intake: a DocumentReference, or a Bundle of them, becomes one chart of documents.

Each attachment is read like a file of its type (`text/plain` as UTF-8 text, `application/pdf`
through the PDF child process), so offsets, visibility and refusals are exactly those of the file
readers. A Bundle is one encounter: its DocumentReferences are the chart's documents, in order,
and each span of evidence names its document. A document's id is the DocumentReference's own id
(a FHIR logical id), so an integrator can map evidence back to its resource.

Parsing uses `fhir.resources` (R4B, which is R4-compatible for these resources). It checks
shapes and base64 but not value sets or required elements such as `status`; those are checked
here, and every refusal is a one-line `InvalidFhir` naming the element, e.g.
"DocumentReference.content[0].attachment.data: Base64 decoding error".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from core.errors import ContentMismatch, InvalidFhir, UnsupportedContent
from tools.chart import Chart, Document
from tools.extract.uploads import read_upload

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_DOC_STATUSES = {"current", "superseded", "entered-in-error"}
_TEXT_TYPES = {"text/plain"}
_PDF_TYPES = {"application/pdf"}


def is_fhir(body: Any) -> bool:
    return isinstance(body, dict) and "resourceType" in body


def chart_from_fhir(
    resource: dict[str, Any],
    *,
    max_bytes: int,
    pdf_timeout_s: float = 60,
    pdf_memory_mb: int = 1024,
) -> Chart:
    """The chart a DocumentReference or a Bundle of them describes."""
    kind = resource.get("resourceType")
    if kind == "DocumentReference":
        references = [_document_reference(resource, "DocumentReference")]
    elif kind == "Bundle":
        references = _bundle_references(resource)
    else:
        raise InvalidFhir(
            f"resourceType {str(kind)[:40]!r}: expected a DocumentReference or a Bundle"
        )
    documents: list[Document] = []
    used: set[str] = set()
    for where, reference in references:
        for n, content in enumerate(reference.content or []):
            doc = _attachment_document(
                content.attachment,
                f"{where}.content[{n}].attachment",
                max_bytes=max_bytes,
                pdf_timeout_s=pdf_timeout_s,
                pdf_memory_mb=pdf_memory_mb,
            )
            doc_id = _doc_id(reference.id, doc, n, used)
            used.add(doc_id)
            documents.append(doc.model_copy(update={"doc_id": doc_id}))
    if not documents:
        raise InvalidFhir("the resource holds no document content to code")
    chart_hash = hashlib.sha256("\n".join(d.sha256 for d in documents).encode()).hexdigest()
    return Chart(chart_id="chart-" + chart_hash[:12], documents=documents)


def attachment_bytes(resource: dict[str, Any]) -> list[bytes]:
    """The decoded `data` of every attachment in a DocumentReference or a Bundle of them."""
    if resource.get("resourceType") == "Bundle":
        entries = resource.get("entry")
        references = [e.get("resource") for e in entries or [] if isinstance(e, dict)]
    else:
        references = [resource]
    found = []
    for reference in references:
        if not isinstance(reference, dict) or not isinstance(reference.get("content"), list):
            continue
        for content in reference["content"]:
            attachment = content.get("attachment") if isinstance(content, dict) else None
            data = attachment.get("data") if isinstance(attachment, dict) else None
            if isinstance(data, str):
                try:
                    found.append(base64.b64decode("".join(data.split()), validate=True))
                except (binascii.Error, ValueError):
                    continue
    return found


def _bundle_references(bundle: dict[str, Any]) -> list[tuple[str, Any]]:
    from fhir.resources.R4B.bundle import Bundle

    try:
        parsed = Bundle.model_validate(bundle)
    except ValidationError as err:
        raise InvalidFhir(_first_error("Bundle", err)) from None
    found = []
    for i, entry in enumerate(parsed.entry or []):
        resource = entry.resource
        if resource is None or resource.get_resource_type() != "DocumentReference":
            continue  # Patients, Encounters and the like travel with documents; not coded.
        where = f"Bundle.entry[{i}].resource"
        found.append(_document_reference(resource.model_dump(mode="json"), where))
    if not found:
        raise InvalidFhir("Bundle.entry: no DocumentReference to code")
    return found


def _document_reference(resource: dict[str, Any], where: str) -> tuple[str, Any]:
    from fhir.resources.R4B.documentreference import DocumentReference

    _check_base64(resource, where)
    try:
        parsed = DocumentReference.model_validate(resource)
    except ValidationError as err:
        raise InvalidFhir(_first_error(where, err)) from None
    if parsed.status not in _DOC_STATUSES:
        raise InvalidFhir(
            f"{where}.status: must be one of {', '.join(sorted(_DOC_STATUSES))}"
            if parsed.status
            else f"{where}.status: required"
        )
    if parsed.status == "entered-in-error":
        raise InvalidFhir(f"{where}.status: entered-in-error documents are not coded")
    if not parsed.content:
        raise InvalidFhir(f"{where}.content: at least one attachment is required")
    return where, parsed


def _attachment_document(
    attachment: Any, where: str, *, max_bytes: int, pdf_timeout_s: float, pdf_memory_mb: int
) -> Document:
    content_type = (attachment.contentType or "").split(";")[0].strip().lower()
    if attachment.data is None:
        if attachment.url:
            raise UnsupportedContent(
                f"{where}.url: attachments are read inline only (base64 `data`), never fetched"
            )
        raise InvalidFhir(f"{where}.data: required")
    data: bytes = attachment.data
    if content_type in _PDF_TYPES:
        suffix = ".pdf"
    elif content_type in _TEXT_TYPES or not content_type:
        suffix = ".txt"
    else:
        raise UnsupportedContent(
            f"{where}.contentType {content_type[:40]!r}: only text/plain and application/pdf"
        )
    name = f"{where.split('.')[0].lower()}{suffix}"
    try:
        document = read_upload(
            data,
            name,
            max_bytes=max_bytes,
            pdf_timeout_s=pdf_timeout_s,
            pdf_memory_mb=pdf_memory_mb,
        )
    except ContentMismatch:
        # Said in FHIR's terms: the content type, not a file name, made the claim.
        if suffix == ".pdf":
            raise InvalidFhir(
                f"{where}: contentType is application/pdf but the data is not a PDF"
            ) from None
        raise InvalidFhir(
            f"{where}: contentType is {content_type or 'not given'} but data is a PDF"
        ) from None
    if suffix == ".pdf" and document.kind != "pdf":
        raise InvalidFhir(f"{where}: contentType is application/pdf but the data is not a PDF")
    if suffix == ".txt" and document.kind == "pdf":
        raise InvalidFhir(
            f"{where}: contentType is {content_type or 'not given'} but data is a PDF"
        )
    return document


def _check_base64(resource: dict[str, Any], where: str) -> None:
    """fhir.resources decodes `attachment.data` leniently ("@@@" becomes b""): check it strictly."""
    contents = resource.get("content")
    if not isinstance(contents, list):
        return
    for n, content in enumerate(contents):
        attachment = content.get("attachment") if isinstance(content, dict) else None
        data = attachment.get("data") if isinstance(attachment, dict) else None
        if not isinstance(data, str):
            continue
        try:
            base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidFhir(f"{where}.content[{n}].attachment.data: not valid base64") from None


def _doc_id(fhir_id: str | None, doc: Document, n: int, used: set[str]) -> str:
    base = fhir_id if fhir_id and _FHIR_ID.match(fhir_id) else doc.doc_id
    doc_id = base if n == 0 else f"{base}-{n}"
    suffix = 2
    while doc_id in used:
        doc_id = f"{base}-{suffix}"
        suffix += 1
    return doc_id


def _first_error(where: str, err: ValidationError) -> str:
    first = err.errors()[0]
    return f"{where}{_path(first.get('loc', ()))}: {str(first.get('msg', 'invalid'))[:120]}"


def _path(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("root",):
            out += f".{part}"
    return out

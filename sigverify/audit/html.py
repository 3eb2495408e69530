"""The audit report as ONE self-contained HTML page (``sigverify audit -o html``).

Rendered from the report's JSON document (:func:`sigverify.audit.render.report_to_json`,
plus what other parts of the audit add to it), so a section appears exactly when its data
is in the document: keys, unsigned images, signature details, a policy comparison,
workloads. No decisions here.

The page fetches nothing: the stylesheet and the script are inline and named by their
SHA-256 in a Content-Security-Policy that allows nothing else (no network, no other script,
no inline event handler); the charts are SVG drawn in Python (:mod:`.charts`). Everything
that comes from the report (image names, tags, user IDs, messages) is HTML-escaped.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sigverify.audit._html_assets import SCRIPT, STYLE
from sigverify.audit._html_parts import (
    NO_TAG,
    Document,
    as_int,
    as_list,
    as_map,
    e,
    num,
    table,
    tag_lines,
    td,
)
from sigverify.audit._html_sections import (
    comparison_section,
    failures_section,
    keys_section,
    policy_section,
    signers_section,
    unsigned_section,
    workloads_section,
)
from sigverify.audit.charts import Bar, Segment, bar_chart

__all__ = ["CONTENT_SECURITY_POLICY", "iter_html", "report_to_html"]


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


#: Nothing from anywhere but the page's own stylesheet and script.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {_hash(STYLE)}; script-src {_hash(SCRIPT)}; "
    "img-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"
)
_AGE_BUCKETS = (
    (7, "under 1 week"),
    (30, "1–4 weeks"),
    (91, "1–3 months"),
    (182, "3–6 months"),
    (365, "6–12 months"),
    (730, "1–2 years"),
)
#: Images in the page's table are written in chunks of this many rows.
_ROWS_PER_CHUNK = 200


def _namespaces_of(image: Document) -> list[str]:
    """The namespaces of the tags pointing at an image (``ns/stream:tag``), sorted."""
    found = {str(tag).partition("/")[0] for tag in as_list(image.get("tags")) if "/" in str(tag)}
    return sorted(found)


# -- sections --------------------------------------------------------------------------------


def _header(document: Document) -> str:
    namespace = document.get("namespace")
    meta = [
        f"<span>policy <b>{e(document.get('policy'))}</b></span>",
        f"<span>{'namespace <b>' + e(namespace) + '</b>' if namespace else 'all namespaces'}"
        "</span>",
    ]
    if document.get("generatedAt"):
        meta.append(f"<span>generated {e(document['generatedAt'])}</span>")
    if "schemaVersion" in document:
        meta.append(f"<span>schema {e(document['schemaVersion'])}</span>")
    return f'<header><h1>sigverify audit report</h1><p class="meta">{"".join(meta)}</p></header>'


def _namespace_counts(images: Sequence[Document]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for image in images:
        for namespace in _namespaces_of(image) or [NO_TAG]:
            count = counts.setdefault(namespace, Counter())
            count["images"] += 1
            count["trusted" if image.get("trusted") else "denied"] += 1
            count["unsigned"] += as_int(image.get("signatures")) == 0
    return dict(sorted(counts.items()))


def _summary(document: Document, by_namespace: dict[str, Counter[str]]) -> Iterator[str]:
    totals = as_map(document.get("totals"))
    cards = [
        ("images audited", totals.get("images"), ""),
        ("trusted", totals.get("trusted"), "ok"),
        ("would be denied", totals.get("denied"), "bad" if totals.get("denied") else ""),
        ("unsigned", totals.get("unsigned"), "warn" if totals.get("unsigned") else ""),
        ("tags", totals.get("tags"), ""),
        ("could not be audited", totals.get("failed"), "bad" if totals.get("failed") else ""),
    ]
    keys = as_list(document.get("keys"))
    if keys:
        expiring = sum(1 for key in keys if as_map(key).get("expiryWarning"))
        cards.append(("keys expiring soon", expiring, "warn" if expiring else ""))
    yield '<section id="summary"><h2>Summary</h2><div class="cards">'
    for label, value, cls in cards:
        yield f'<div class="card {cls}"><b>{e(value if value is not None else "–")}</b>'
        yield f"{e(label)}</div>"
    yield "</div><h3>By namespace</h3>"
    rows = (
        f"<tr>{td(name)}{num(c['images'])}{num(c['trusted'])}{num(c['denied'])}"
        f"{num(c['unsigned'])}</tr>"
        for name, c in by_namespace.items()
    )
    headers = [("namespace", False), ("images", True), ("trusted", True)]
    headers += [("would be denied", True), ("unsigned", True)]
    yield from table("namespace-table", headers, rows)
    yield "</section>"


def _signer_names(document: Document) -> dict[str, str]:
    """Fingerprint or key ID → a readable name (the first user ID the report knows)."""
    names: dict[str, str] = {}
    for signer in map(as_map, as_list(document.get("signers"))):
        if signer.get("userID"):
            for ident in (signer.get("fingerprint"), signer.get("publicKeyID")):
                names[str(ident)] = str(signer["userID"])
    for key in map(as_map, as_list(document.get("keys"))):
        user_ids = as_list(key.get("userIDs"))
        if user_ids:
            for ident in (key.get("fingerprint"), key.get("publicKeyID")):
                names.setdefault(str(ident), str(user_ids[0]))
    return names


def _signer_bars(document: Document, images: Sequence[Document]) -> tuple[str, list[Bar]]:
    details = [d for image in images for d in as_list(image.get("signatureDetails"))]
    if details:
        names = _signer_names(document)
        counts: Counter[str] = Counter()
        for detail in details:
            signer = as_map(detail).get("signer")
            counts[names.get(str(signer), str(signer)) if signer else "(none verified)"] += 1
        bars = [
            Bar(name, (Segment(n, "count", f"{n} signatures"),))
            for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        ]
        return "Signatures per signer", bars
    bars = []
    for signer in as_list(document.get("signers")):
        signer = as_map(signer)
        label = f"{signer.get('publicKeyID')} {signer.get('userID') or ''}".strip()
        images_signed = as_int(signer.get("images"))
        bars.append(Bar(label, (Segment(images_signed, "count", f"{images_signed} images"),)))
    return "Images signed per signer (verified signatures)", bars


def _age_bars(images: Sequence[Document]) -> list[Bar] | None:
    ages = [
        as_map(d).get("ageDays") for image in images for d in as_list(image.get("signatureDetails"))
    ]
    if not ages:
        return None
    counts: Counter[str] = Counter()
    for age in ages:
        if not isinstance(age, int | float) or isinstance(age, bool):
            counts["unknown"] += 1
            continue
        counts[next((label for limit, label in _AGE_BUCKETS if age < limit), "over 2 years")] += 1
    labels = [label for _, label in _AGE_BUCKETS] + ["over 2 years", "unknown"]
    return [
        Bar(
            label,
            (
                Segment(
                    counts[label],
                    "unknown" if label == "unknown" else "count",
                    f"{counts[label]} signatures",
                ),
            ),
        )
        for label in labels
        if counts[label] or label != "unknown"
    ]


def _key_label(key: Mapping[str, Any]) -> str:
    user_ids = as_list(key.get("userIDs"))
    return str(user_ids[0]) if user_ids else str(key.get("publicKeyID") or key.get("fingerprint"))


def _expiry_chart(keys: Sequence[Mapping[str, Any]], warning_days: int) -> str:
    lefts = [as_int(k.get("daysLeft")) for k in keys if isinstance(k.get("daysLeft"), int)]
    scale = float(max(365, min(max([0, *lefts]), 5 * 365)))
    bars = []
    ordered = sorted(keys, key=lambda k: (k.get("daysLeft") is None, as_int(k.get("daysLeft"))))
    for key in ordered:
        left = key.get("daysLeft")
        if key.get("revoked"):
            bars.append(
                Bar(_key_label(key), (Segment(scale / 100, "expired", "revoked"),), "revoked")
            )
        elif not isinstance(left, int):
            bars.append(Bar(_key_label(key), (Segment(scale, "never", "no expiry"),), "no expiry"))
        elif left < 0 or key.get("expired"):
            note = f"expired {-left} days ago" if left < 0 else "expired today"
            bars.append(Bar(_key_label(key), (Segment(scale / 100, "expired", note),), note))
        else:
            kind = "warning" if key.get("expiryWarning") or left < warning_days else "ok"
            note = f"{left} days left"
            bars.append(Bar(_key_label(key), (Segment(max(left, 1), kind, note),), note))
    ticks = [(0.0, "today"), (float(warning_days), f"{warning_days} d")] + [
        (365.0 * year, f"{year} y") for year in range(1, 6) if 365 * year <= scale
    ]
    return bar_chart(
        "chart-key-expiry", "Key expiry timeline (days left)", bars, scale_max=scale, ticks=ticks
    )


def _charts(
    document: Document, images: Sequence[Document], by_namespace: dict[str, Counter[str]]
) -> Iterator[str]:
    yield '<section id="charts"><h2>Charts</h2><div class="charts">'
    bars = [
        Bar(
            name,
            (
                Segment(c["trusted"], "trusted", f"{c['trusted']} trusted"),
                Segment(c["denied"], "denied", f"{c['denied']} would be denied"),
            ),
            f"{c['trusted']} / {c['denied']}",
        )
        for name, c in by_namespace.items()
    ]
    yield bar_chart("chart-namespaces", "Trusted / would be denied, per namespace", bars)
    title, signer_bars = _signer_bars(document, images)
    yield bar_chart("chart-signers", title, signer_bars)
    ages = _age_bars(images)
    if ages is not None:
        yield bar_chart("chart-signature-age", "Signature age", ages)
    keys = [as_map(key) for key in as_list(document.get("keys"))]
    # a signing subkey may expire (or be revoked) before its key: it has its own bar
    keys += [
        {
            **as_map(sub),
            "userIDs": [f"subkey {as_map(sub).get('publicKeyID')} of {_key_label(key)}"],
        }
        for key in list(keys)
        for sub in as_list(key.get("subkeys"))
        if as_map(sub).get("canSign")
    ]
    if keys:
        warning_days = document.get("expiryWarningDays")
        yield _expiry_chart(keys, warning_days if isinstance(warning_days, int) else 90)
    yield "</div></section>"


# -- the image table -------------------------------------------------------------------------


def _signature_item(detail: Mapping[str, Any]) -> str:
    reason = detail.get("reason")
    age = detail.get("ageDays")
    created = e(detail.get("created") or "unknown")
    if isinstance(age, int | float) and not isinstance(age, bool):
        created += f" ({e(age)} days old)"
    signer, claimed = detail.get("signer"), detail.get("claimedKeyID")
    if signer:
        who = f'<span class="mono">{e(signer)}</span>'
    elif claimed:
        who = f'none verified (claims <span class="mono">{e(claimed)}</span>)'
    else:
        who = "none verified"
    fields = (
        ("signer", who),
        ("identity", e(detail.get("identity") or "–")),
        ("created", created),
        ("source", e(detail.get("source") or "–")),
    )
    text = "".join(f' <span class="sig-field">{k}</span> {v}' for k, v in fields)
    cls = "sig-ok" if reason == "Trusted" else "sig-bad"
    message = detail.get("message")
    note = f'<br><span class="note">{e(message)}</span>' if message else ""
    return f'<li class="{cls}" title="{e(detail.get("name"))}"><b>{e(reason)}</b>{text}{note}</li>'


def _repository(image: Document) -> str:
    """The reference without the image's own digest (it is in the cell already)."""
    reference, digest = str(image.get("reference") or ""), str(image.get("image") or "")
    return reference.removesuffix("@" + digest) if digest else reference


def _image_row(image: Document) -> str:
    trusted = bool(image.get("trusted"))
    word = "trusted" if trusted else "denied"
    details = [as_map(d) for d in as_list(image.get("signatureDetails"))]
    count = as_int(image.get("signatures"))
    if details:
        signatures = '<ul class="sigs">' + "".join(map(_signature_item, details)) + "</ul>"
    else:
        signers = ", ".join(str(s) for s in as_list(image.get("signers")))
        signatures = f"verified signers: {e(signers)}" if signers else ""
    sources = ", ".join(f"{s} {n}" for s, n in as_map(image.get("sources")).items())
    if sources:
        signatures += f'<br><span class="note">sources: {e(sources)}</span>'
    tags = tag_lines(image.get("tags"))
    return (
        f'<tr data-status="{word}">'
        f'<td class="digest" data-sort="{e(image.get("image"))}">{e(image.get("image"))}'
        f'<br><span class="note">{e(_repository(image))}</span></td>'
        f'<td class="tags" data-sort="{e(" ".join(str(t) for t in as_list(image.get("tags"))))}">'
        f"{tags}</td>"
        f'<td><span class="status-{word}">{word}</span></td>'
        f"{td(image.get('reason'))}{td(image.get('scope'))}"
        f'<td class="signature-cell" data-sort="{count}"><b>{count}</b>{signatures}</td>'
        f"{td(image.get('message'))}</tr>"
    )


def _image_table(images: Sequence[Document]) -> Iterator[str]:
    yield (
        f'<section id="images"><h2>Images ({len(images)})</h2>'
        '<div class="filters"><label>Filter <input type="search" id="image-filter" '
        'placeholder="digest, tag, signer, reason…" autocomplete="off"></label>'
        '<label>Status <select id="status-filter"><option value="">all</option>'
        '<option value="trusted">trusted</option><option value="denied">would be denied'
        '</option></select></label><span><span id="image-count">'
        f"{len(images)}</span> of {len(images)} shown</span></div>"
    )
    headers = [("image", False), ("tags", False), ("status", False), ("reason", False)]
    headers += [("scope", False), ("signatures", False), ("message", False)]
    rows = (_image_row(image) for image in images)
    chunk: list[str] = []
    for part in table("image-table", headers, rows):
        chunk.append(part)
        if len(chunk) >= _ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)
    yield "</section>"


# -- the page --------------------------------------------------------------------------------


def iter_html(document: Document) -> Iterator[str]:
    """The page in pieces (the image table a chunk of rows at a time), for streaming."""
    images = [as_map(image) for image in as_list(document.get("images"))]
    by_namespace = _namespace_counts(images)
    yield (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>sigverify audit: {e(document.get('policy'))}</title>"
        f"<style>{STYLE}</style></head><body>"
    )
    yield _header(document)
    yield from _summary(document, by_namespace)
    yield from _charts(document, images, by_namespace)
    yield from comparison_section(document)
    yield from workloads_section(document)
    yield from keys_section(document)
    yield from signers_section(document)
    yield from unsigned_section(document)
    yield from policy_section(document)
    yield from failures_section(document)
    yield from _image_table(images)
    yield f"<script>{SCRIPT}</script></body></html>\n"


def report_to_html(document: Document) -> str:
    """The whole page (``sigverify audit --output html``)."""
    return "".join(iter_html(document))

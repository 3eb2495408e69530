"""The sections of the HTML audit report that show one part of the document each: keys,
signers, policy scopes, unsigned images, the policy dry run, workloads, failures. Each
yields nothing when its part is absent."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sigverify.audit._html_parts import (
    Document,
    as_int,
    as_list,
    as_map,
    date,
    e,
    grouped,
    num,
    sort_left,
    table,
    tags_cell,
    td,
    yes_no,
)


def _subkey(subkey: Mapping[str, Any]) -> str:
    """``0x… RSA 2048, signs, expires 2027-01-15 (44 days left)``; expired/revoked in red."""
    parts = [f"{subkey.get('algorithm') or ''} {subkey.get('bits') or ''}".strip()]
    parts.append("signs" if subkey.get("canSign") else "does not sign")
    left, expires = subkey.get("daysLeft"), subkey.get("expires")
    if expires:
        parts.append(
            f"expires {str(expires)[:10]}"
            + (f" ({left} days left)" if isinstance(left, int) else "")
        )
    text = f'<span class="mono">{e(subkey.get("publicKeyID"))}</span> {e(", ".join(parts))}'
    flags = [word for word in ("expired", "revoked") if subkey.get(word)]
    return text + (f' <span class="bad">{e(" ".join(flags))}</span>' if flags else "")


def keys_section(document: Document) -> Iterator[str]:
    if not as_list(document.get("keys")):
        return
    yield '<section id="keys"><h2>Keys</h2>'
    rows = []
    for key in map(as_map, as_list(document.get("keys"))):
        left = key.get("daysLeft")
        left_cls = "num"
        if key.get("expired") or (isinstance(left, int) and left < 0):
            left_cls = "num bad"
        elif key.get("expiryWarning"):
            left_cls = "num warn"
        size = f"{key.get('algorithm') or ''} {key.get('bits') or ''}".strip()
        rows.append(
            "<tr>"
            + td(grouped(key.get("fingerprint")), cls="fpr", sort=key.get("fingerprint"))
            + td(key.get("publicKeyID"), cls="mono")
            + f"<td>{'<br>'.join(e(u) for u in as_list(key.get('userIDs')))}</td>"
            + td(size)
            + date(key.get("created"), "unknown")
            + date(key.get("expires"), "never")
            + td("–" if left is None else left, cls=left_cls, sort=sort_left(left))
            + f"<td>{yes_no(key.get('revoked'), bad_when=True)}</td>"
            + f"<td>{yes_no(key.get('trusted'))}</td>"
            + td(", ".join(str(s) for s in as_list(key.get("scopes"))))
            + num(key.get("validImages"))
            + f"<td>{'<br>'.join(_subkey(as_map(sub)) for sub in as_list(key.get('subkeys')))}</td>"
            + "</tr>"
        )
    headers = [("fingerprint", False), ("key ID", False), ("user IDs", False)]
    headers += [("algorithm", False), ("created", False), ("expires", False)]
    headers += [("days left", True), ("revoked", False), ("trusted", False)]
    headers += [("scopes trusting it", False), ("valid images", True), ("subkeys", False)]
    yield from table("key-table", headers, rows)
    yield "</section>"


def signers_section(document: Document) -> Iterator[str]:
    signers = [as_map(s) for s in as_list(document.get("signers"))]
    unknown = as_map(document.get("unknownKeys"))
    if not signers and not as_int(unknown.get("signatures")):
        return
    yield '<section id="signers"><h2>Signers</h2>'
    rows = []
    for signer in signers:
        scopes = "<br>".join(
            f"{e(as_map(s).get('scope'))}: {e(as_map(s).get('images'))} images, trusted "
            f"{yes_no(as_map(s).get('trusted'), bad_when=False)}"
            for s in as_list(signer.get("scopes"))
        )
        rows.append(
            "<tr>"
            + td(signer.get("publicKeyID"), cls="mono")
            + td(signer.get("userID") or "")
            + td(signer.get("fingerprint"), cls="mono")
            + num(signer.get("images"))
            + f"<td>{scopes}</td></tr>"
        )
    headers = [("key ID", False), ("user ID", False), ("fingerprint", False)]
    headers += [("images", True), ("per scope", False)]
    yield from table("signer-table", headers, rows)
    if as_int(unknown.get("signatures")):
        yield (
            f"<h3>Unknown keys</h3><p>{e(unknown.get('signatures'))} signatures on "
            f"{e(unknown.get('images'))} images by keys the policy does not know "
            f'<span class="note">({e(unknown.get("note"))})</span></p>'
        )
        key_rows = (
            f"<tr>{td(k, cls='mono')}{num(n)}</tr>"
            for k, n in as_map(unknown.get("keyIDs")).items()
        )
        yield from table(
            "unknown-key-table", [("claimed key ID", False), ("signatures", True)], key_rows
        )
    yield "</section>"


def policy_section(document: Document) -> Iterator[str]:
    scopes = [as_map(s) for s in as_list(document.get("scopes"))]
    if not scopes:
        return
    yield '<section id="scopes"><h2>Policy scopes and reasons</h2>'
    rows = (
        "<tr>"
        + td(s.get("scope"))
        + f"<td>{'<br>'.join(e(r) for r in as_list(s.get('requirements')))}</td>"
        + num(s.get("images"))
        + num(s.get("trusted"))
        + num(s.get("denied"))
        + "</tr>"
        for s in scopes
    )
    headers = [("scope", False), ("requirements", False), ("images", True)]
    headers += [("trusted", True), ("would be denied", True)]
    yield from table("scope-table", headers, rows)
    for key, title in (("reasons", "Image reasons"), ("signatureReasons", "Signature reasons")):
        reasons = as_map(document.get(key))
        if reasons:
            yield f"<h3>{title}</h3>"
            reason_rows = (f"<tr>{td(r)}{num(n)}</tr>" for r, n in reasons.items())
            yield from table(f"{key}-table", [("reason", False), ("count", True)], reason_rows)
    yield "</section>"


def unsigned_section(document: Document) -> Iterator[str]:
    if "unsigned" not in document:
        return
    entries = [as_map(u) for u in as_list(document.get("unsigned"))]
    yield f'<section id="unsigned"><h2>Unsigned images ({len(entries)})</h2>'
    rows = (
        "<tr>"
        + td(u.get("image"), cls="digest")
        + tags_cell(u.get("tags"))
        + td(", ".join(str(n) for n in as_list(u.get("namespaces"))))
        + "</tr>"
        for u in entries
    )
    headers = [("image", False), ("tags", False), ("namespaces", False)]
    yield from table("unsigned-table", headers, rows, if_empty="none: every image has a signature")
    yield "</section>"


def _outcome(value: Any) -> str:
    outcome = as_map(value)
    word = "trusted" if outcome.get("trusted") else "denied"
    return (
        f'<td><span class="status-{word}">{word}</span> {e(outcome.get("reason"))}'
        f'<br><span class="note">{e(outcome.get("message"))}</span></td>'
    )


def comparison_section(document: Document) -> Iterator[str]:
    comparison = as_map(document.get("comparison"))
    if not comparison:
        return
    yield (
        '<section id="comparison"><h2>Policy dry run</h2>'
        f"<p>current policy <b>{e(comparison.get('policy'))}</b>, new policy "
        f"<b>{e(comparison.get('comparePolicy'))}</b>"
        + (
            f": {e(comparison['images'])} images compared, {e(comparison.get('unchanged'))} "
            "unchanged"
            if "images" in comparison
            else ""
        )
        + "</p>"
    )
    for key, title in (("newlyDenied", "Newly denied"), ("newlyAdmitted", "Newly admitted")):
        changes = [as_map(c) for c in as_list(comparison.get(key))]
        yield f"<h3>{title} ({len(changes)})</h3>"
        rows = (
            "<tr>"
            + td(c.get("image"), cls="digest")
            + tags_cell(c.get("tags"))
            + _outcome(c.get("current"))
            + _outcome(c.get("new"))
            + "</tr>"
            for c in changes
        )
        headers = [
            ("image", False),
            ("tags", False),
            ("current policy", False),
            ("new policy", False),
        ]
        yield from table(f"{key}-table", headers, rows, if_empty="none")
    yield "</section>"


def _mode(row: Mapping[str, Any]) -> str:
    mode = str(row.get("mode") or "–")
    return f"{mode} (exempt)" if row.get("exempt") else mode


def workloads_section(document: Document) -> Iterator[str]:
    workloads = as_map(document.get("workloads"))
    if not workloads:
        return
    yield '<section id="workloads"><h2>Workloads: what enforce would deny today</h2>'
    rows = (
        "<tr>"
        + td(n.get("namespace"))
        + td(_mode(n))
        + num(n.get("workloads"))
        + num(n.get("containers"))
        + num(n.get("wouldDeny"))
        + f"<td>{yes_no(n.get('readyForEnforce'), bad_when=False)}</td>"
        + "</tr>"
        for n in map(as_map, as_list(workloads.get("namespaces")))
    )
    headers = [("namespace", False), ("mode now", False), ("workloads", True)]
    headers += [("containers", True), ("would be denied", True), ("ready for enforce", False)]
    yield from table("workload-namespace-table", headers, rows)
    denied = [as_map(d) for d in as_list(workloads.get("denied"))]
    yield f"<h3>Would be denied ({len(denied)})</h3>"
    denied_rows = (
        "<tr>"
        + "".join(td(d.get(k)) for k in ("namespace", "kind", "name", "container"))
        + td(d.get("image"), cls="mono")
        + td(d.get("reason"))
        + td(d.get("message"))
        + "</tr>"
        for d in denied
    )
    headers = [("namespace", False), ("kind", False), ("name", False), ("container", False)]
    headers += [("image", False), ("reason", False), ("message", False)]
    yield from table("workload-denied-table", headers, denied_rows, if_empty="none")
    yield "</section>"


def failures_section(document: Document) -> Iterator[str]:
    failures = [as_map(f) for f in as_list(document.get("failures"))]
    if not failures:
        return
    yield f'<section id="failures"><h2>Could not be audited ({len(failures)})</h2>'
    rows = (
        "<tr>"
        + td(f.get("subject"), cls="digest")
        + tags_cell(f.get("tags"))
        + td(f.get("message"))
        + "</tr>"
        for f in failures
    )
    yield from table(
        "failure-table", [("subject", False), ("tags", False), ("message", False)], rows
    )
    yield "</section>"

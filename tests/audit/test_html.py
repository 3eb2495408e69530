"""The HTML audit report (``sigverify audit -o html``) without a browser: every section from
its part of the document and none without it, exact figures, escaping of hostile names
(checked by parsing the page, not by searching strings), the Content-Security-Policy, no
resource from anywhere. ``test_html_browser.py`` loads the same page in chromium."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sigverify.audit.html import CONTENT_SECURITY_POLICY, iter_html, report_to_html
from sigverify.audit.render import report_to_json
from sigverify.audit.report import build_report
from sigverify.cli import cli
from tests.audit.html_document import ANGLE_MESSAGE, IMG_TAG, SCRIPT_USER_ID, html_document
from tests.imageapi.demo import APP, DEMO_POLICY, TOOLS, seeded_store

#: Every element the page may contain: no img, iframe, object, link, a, form, ...
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "span",
    "b", "br", "section", "div", "table", "thead", "tbody", "tr", "th", "td", "button", "ul",
    "li", "figure", "figcaption", "svg", "g", "rect", "text", "line", "label",
    "input", "select", "option", "script",
}  # fmt: skip
#: Attributes that load or link something, and event handlers, must never appear.
URL_ATTRIBUTES = {"src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "data"}


class Page(HTMLParser):
    """The parsed page: elements, attributes, the text, the style and script bodies."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.bodies: dict[str, list[str]] = {"style": [], "script": []}
        self._inside: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in self.bodies:
            self._inside = tag
            self.bodies[tag].append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._inside:
            self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.bodies[self._inside][-1] += data
        else:
            self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def ids(self) -> set[str]:
        return {str(attrs["id"]) for _, attrs in self.tags if attrs.get("id")}


@pytest.fixture(scope="module")
def page_text() -> str:
    return report_to_html(html_document())


@pytest.fixture(scope="module")
def page(page_text: str) -> Page:
    return Page(page_text)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# -- nothing from anywhere -------------------------------------------------------------------


def test_no_network_reference_anywhere(page_text: str) -> None:
    assert "http:" not in page_text and "https:" not in page_text
    assert "url(" not in page_text and "@import" not in page_text
    assert "//" not in re.sub(r"<script>.*?</script>", "", page_text, flags=re.S)


def test_only_known_elements_and_no_attribute_that_loads_or_runs_anything(page: Page) -> None:
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    for tag, attrs in page.tags:
        assert not URL_ATTRIBUTES & set(attrs), (tag, attrs)
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert "style" not in attrs, (tag, attrs)  # the CSP allows no inline style attribute
    assert len(page.all("script")) == 1 and len(page.all("style")) == 1


def test_the_csp_allows_exactly_the_page_s_own_style_and_script(page: Page) -> None:
    metas = [m for m in page.all("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert [m["content"] for m in metas] == [CONTENT_SECURITY_POLICY]
    [style], [script] = page.bodies["style"], page.bodies["script"]
    assert (
        f"default-src 'none'; style-src {_sha256(style)}; script-src {_sha256(script)}; "
        "img-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"
    ) == CONTENT_SECURITY_POLICY
    # the policy comes before anything it governs
    names = [tag for tag, _ in page.tags]
    assert names.index("meta", names.index("head")) < names.index("style")


# -- hostile names ---------------------------------------------------------------------------


def test_hostile_names_are_text_not_markup(page_text: str, page: Page) -> None:
    text = "".join(page.text)
    for hostile in (SCRIPT_USER_ID, IMG_TAG, ANGLE_MESSAGE):
        assert hostile in text  # shown as it is...
        assert hostile not in page_text  # ...because it was escaped
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page_text
    assert "evil/app:&quot;&gt;&lt;img src=x onerror=&quot;" in page_text
    assert page.all("img") == [] and len(page.all("script")) == 1


def test_a_url_in_the_data_stays_text() -> None:
    document = html_document()
    document["images"][0]["message"] = "see https://evil.example/x.png"
    document["images"][0]["tags"] = ['x/y:"><a href="https://evil.example/">']
    page = Page(report_to_html(document))
    assert "see https://evil.example/x.png" in "".join(page.text)
    # in attribute values only as inert text (a sort key, a tooltip), never a link
    holders = {
        name for _, attrs in page.tags for name, value in attrs.items() if "evil" in str(value)
    }
    assert holders == {"data-sort"}
    assert page.all("a") == []


# -- sections from the document ----------------------------------------------------------------


def test_every_section_of_the_full_document(page: Page) -> None:
    assert {
        "summary", "charts", "comparison", "workloads", "keys", "signers", "unsigned",
        "scopes", "failures", "images", "chart-namespaces", "chart-signers",
        "chart-signature-age", "chart-key-expiry", "image-table", "key-table",
        "namespace-table", "image-filter", "status-filter", "image-count",
    } <= page.ids()  # fmt: skip
    assert len(page.all("svg")) == 4


def test_sections_follow_the_data_of_a_plain_report() -> None:
    document = report_to_json(build_report([], policy="p.yaml", namespace="demo"))
    page = Page(report_to_html(document))
    ids = page.ids()
    assert {"summary", "charts", "chart-namespaces", "chart-signers", "images"} <= ids
    assert "Unsigned images (0)none: every image has a signature" in "".join(page.text)
    absent = {"keys", "comparison", "workloads", "failures", "signers", "scopes"}
    absent |= {"chart-signature-age", "chart-key-expiry"}
    assert ids & absent == set()
    assert "namespace demo" in " ".join("".join(page.text).split())


def _rows(page_text: str, table_id: str) -> list[list[str]]:
    """The cell texts of a table's body rows."""
    body = page_text.split(f'<table id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1], flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        rows.append([" ".join(" ".join(Page(cell).text).split()) for cell in cells])
    return rows


def test_summary_by_namespace(page_text: str) -> None:
    assert _rows(page_text, "namespace-table") == [
        ["(no tag)", "1", "1", "0", "1"],
        ["evil", "1", "0", "1", "0"],
        ["prod", "7", "7", "0", "0"],
        ["staging", "6", "6", "0", "0"],
        ["team", "3", "1", "2", "1"],
    ]


def test_keys_table(page_text: str) -> None:
    rows = _rows(page_text, "key-table")
    assert [row[0] for row in rows] == [
        "66FB 00D0 E92B 2A45 11E7 0348 43C6 880E 17BA 57E9",
        "1B2C 3D4E 5F60 7182 93A4 B5C6 D7E8 F90A 1B2C 3D4E",
        "0F1E 2D3C 4B5A 6978 8796 A5B4 C3D2 E1F0 0F1E 2D3C",
        "ABAB ABAB ABAB ABAB ABAB ABAB ABAB ABAB ABAB ABAB",
    ]
    assert rows[0][-1] == (
        "0x5555555555555555 RSA 3072, signs, expires 2027-01-31 (61 days left) "
        "0x6666666666666666 ECDH 256, does not sign revoked"
    )
    team = "registry.example.com/team"
    assert [row[3:-1] for row in rows] == [
        ["RSA 4096", "2025-01-01", "2028-01-01", "395", "no", "yes", team, "13"],
        ["EdDSA 256", "2026-01-01", "2027-01-31", "30", "no", "yes", team, "0"],
        ["DSA 2048", "2019-01-01", "2026-11-01", "-31", "no", "no", "", "0"],
        ["ECDSA 256", "2024-05-01", "never", "–", "yes", "no", "", "0"],
    ]
    assert '<td class="num warn" data-sort="30">30</td>' in page_text
    assert '<td class="num bad" data-sort="-31">-31</td>' in page_text


def _bars(page_text: str, chart_id: str) -> list[tuple[str, str]]:
    """(label, value note) of each bar of a chart."""
    svg = page_text.split(f'id="{chart_id}"', 1)[1].split("</svg>", 1)[0]
    labels = re.findall(r'class="chart-label"[^>]*>([^<]*)<', svg)
    notes = re.findall(r'class="chart-value"[^>]*>([^<]*)<', svg)
    return list(zip(labels, notes, strict=True))


def test_charts_figures(page_text: str) -> None:
    assert _bars(page_text, "chart-namespaces") == [
        ("(no tag)", "1 / 0"),
        ("evil", "0 / 1"),
        ("prod", "7 / 0"),
        ("staging", "6 / 0"),
        ("team", "1 / 2"),
    ]
    assert _bars(page_text, "chart-signature-age") == [
        ("under 1 week", "1"),
        ("1–4 weeks", "0"),
        ("1–3 months", "5"),
        ("3–6 months", "8"),
        ("6–12 months", "0"),
        ("1–2 years", "0"),
        ("over 2 years", "1"),
        ("unknown", "1"),
    ]
    assert _bars(page_text, "chart-signers") == [
        ("release &lt;security@example.com&gt;", "13"),
        ("(none verified)", "1"),
        ("&lt;script&gt;document.title=&#x27;pwned…", "1"),  # cut at 30 characters
        ("old &lt;old@example.com&gt;", "1"),
    ]
    assert _bars(page_text, "chart-key-expiry") == [
        ("old &lt;old@example.com&gt;", "expired 31 days ago"),
        ("&lt;script&gt;document.title=&#x27;pwned…", "30 days left"),
        ("subkey 0x5555555555555555 of …", "61 days left"),  # signing subkeys too
        ("release &lt;security@example.com&gt;", "395 days left"),
        ("forever &lt;forever@example.com&gt;", "revoked"),
    ]
    # under the warning threshold (90 days): orange, the subkey too
    svg = page_text.split('id="chart-key-expiry"', 1)[1].split("</svg>", 1)[0]
    kinds = re.findall(r'class="seg seg-(\w+)"', svg)
    assert kinds == ["expired", "warning", "warning", "ok", "expired"]


def test_policy_dry_run_and_workloads(page_text: str) -> None:
    assert _rows(page_text, "newlyDenied-table") == [
        [
            f"sha256:{'07' * 32}",
            "prod/svc7:v7",
            "trusted Trusted trusted",
            "denied UntrustedKey no key",
        ]
    ]
    assert '<p class="note" id="newlyAdmitted-table">none</p>' in page_text
    assert "17 images compared, 16 unchanged" in page_text
    assert _rows(page_text, "workload-namespace-table") == [
        ["prod", "warn", "4", "5", "0", "yes"],
        ["team", "enforce (exempt)", "2", "2", "1", "no"],
    ]
    assert _rows(page_text, "workload-denied-table") == [
        [
            "team", "Deployment", "batch", "main",
            f"registry.example.com/team/batch@sha256:{'04' * 32}", "NotSigned", "no signature",
        ]
    ]  # fmt: skip


def test_image_table_rows_and_signature_details(page_text: str, page: Page) -> None:
    rows = [attrs for attrs in page.all("tr") if attrs.get("data-status")]
    assert [r["data-status"] for r in rows].count("denied") == 3 and len(rows) == 17
    second = _rows(page_text, "image-table")[1]
    assert second[2:5] == ["denied", "IdentityMismatch", "registry.example.com/team"]
    assert " ".join(second[5].split()) == (
        "2 IdentityMismatch signer 1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E identity "
        "registry.example.com/team/app2:1 created 2026-06-01T10:00:00Z (40 days old) source "
        "lookaside UnknownKey signer none verified (claims 0x1234567890ABCDEF ) identity "
        "registry.example.com/team/app3:1 created unknown source registry no public key"
    )
    assert second[6] == ANGLE_MESSAGE


def test_the_page_streams_in_pieces_that_join_to_the_page() -> None:
    document = html_document()
    template = document["images"][-1]
    document["images"] = [dict(template, image=f"sha256:{n:064x}") for n in range(450)]
    pieces = list(iter_html(document))
    assert "".join(pieces) == report_to_html(document)
    with_rows = [piece for piece in pieces if 'data-status="trusted"' in piece]
    assert [piece.count('data-status="trusted"') for piece in with_rows] == [
        198,
        200,
        52,
    ]  # the table's opening pieces count too


# -- the command -------------------------------------------------------------------------------


def test_cli_html_to_stdout_and_to_a_file(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    seeded_store(store)
    runner = CliRunner()
    args = ["audit", "--policy", str(DEMO_POLICY), "--store", str(store), "-o", "html"]
    shown = runner.invoke(cli, args)
    assert shown.exit_code == 1, shown.output
    page = Page(shown.stdout)
    assert "images" in page.ids() and {APP, TOOLS} <= set(" ".join(page.text).split())
    target = tmp_path / "out" / "report.html"
    target.parent.mkdir()
    written = runner.invoke(cli, [*args, "--output-file", str(target)])
    assert (written.exit_code, written.stdout) == (1, "")
    # the same page but for the time it was made
    same = re.compile(r"generated [0-9TZ:-]+")
    assert same.sub("", target.read_text()) == same.sub("", shown.stdout)
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]  # no temporary left


def test_cli_output_file_for_json_and_refusals(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    seeded_store(store)
    runner = CliRunner()
    args = ["audit", "--policy", str(DEMO_POLICY), "--store", str(store), "-o", "json"]
    target = tmp_path / "report.json"
    target.write_text("old")
    written = runner.invoke(cli, [*args, "--output-file", str(target)])
    assert written.exit_code == 1
    body: dict[str, Any] = json.loads(target.read_text())
    shown: dict[str, Any] = json.loads(runner.invoke(cli, args).stdout)
    assert body.pop("generatedAt") <= shown.pop("generatedAt")  # a second may have passed
    assert body == shown
    for path, message in (
        (tmp_path / "missing" / "r.json", f"no such directory {tmp_path / 'missing'}"),
        (tmp_path, "is a directory"),
    ):
        refused = runner.invoke(cli, [*args, "--output-file", str(path)])
        assert refused.exit_code == 2
        assert refused.stderr == f"sigverify: error: --output-file {path}: {message}\n"

"""Label and field selectors on lists, as kube-apiserver reads them; anything else is a 400.

- ``labelSelector`` (k8s.io/apimachinery ``labels.Parse``): requirements joined by ``,``:
  ``key``, ``!key``, ``key=value`` / ``key==value``, ``key!=value``, ``key in (a,b)``,
  ``key notin (a,b)``, ``key>N``, ``key<N``. Keys are qualified names (``prefix/name``),
  values label values (at most 63 characters, alphanumeric at both ends, ``-_.`` inside).
  ``!=`` and ``notin`` also match objects without the label, as in Kubernetes.
- ``fieldSelector`` (``fields.ParseSelector``): terms ``field=value``, ``field==value``,
  ``field!=value`` joined by ``,`` (``\\,``, ``\\=`` and ``\\\\`` escape). Only the fields the
  server can select on: ``metadata.name`` and ``metadata.namespace`` for every kind (the
  ``DefaultMetaV1FieldSelectorConversion``), plus ``spec.dockerImageRepository`` and
  ``status.dockerImageRepository`` for ImageStreams (openshift-apiserver's conversion). Any
  other field is refused, ``field label not supported: …``, never ignored.

Sizes are bounded: a selector longer than :data:`MAX_SELECTOR_CHARS`, or with more than
:data:`MAX_REQUIREMENTS` requirements or values, is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sigverify.imageapi.errors import BadRequestError

__all__ = [
    "MAX_REQUIREMENTS",
    "MAX_SCANNED_PER_PAGE",
    "MAX_SELECTOR_CHARS",
    "ListSelector",
    "Selector",
    "parse_field_selector",
    "parse_label_selector",
    "selected_page",
]

MAX_SELECTOR_CHARS = 8192
MAX_REQUIREMENTS = 100
#: Objects one selected list request reads at most before it answers (with a ``continue``).
MAX_SCANNED_PER_PAGE = 10_000

_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_INTEGER = re.compile(r"[-+]?[0-9]+")

Test = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Selector:
    """A parsed selector: ``matches(obj)``; ``text`` as given (empty: everything)."""

    text: str
    tests: tuple[Test, ...]

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(test(obj) for test in self.tests)

    @property
    def empty(self) -> bool:
        return not self.tests


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    labels = _metadata(obj).get("labels")
    return labels if isinstance(labels, dict) else {}


def _bounded(text: str, what: str) -> None:
    if len(text) > MAX_SELECTOR_CHARS:
        raise BadRequestError(f"{what} is longer than {MAX_SELECTOR_CHARS} characters")


# -- labels ---------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    """``labels.Parse``'s lexer: operators, parentheses, commas and identifiers."""
    tokens: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "(),<>":
            tokens.append(char)
            i += 1
        elif char in "!=":
            double = text[i : i + 2]
            if double in ("!=", "=="):
                tokens.append(double)
                i += 2
            else:
                tokens.append(char)
                i += 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in "(),<>!=":
                i += 1
            tokens.append(text[start:i])
    return tokens


def _is_identifier(token: str | None) -> bool:
    return token is not None and token not in ("(", ")", ",", "<", ">", "!", "!=", "=", "==")


def _check_key(key: str) -> None:
    prefix, slash, name = key.rpartition("/")
    problems = []
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        problems.append("a prefix must be a DNS subdomain")
    if not name or len(name) > 63 or not _NAME.fullmatch(name):
        problems.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', start and "
            "end with an alphanumeric character, and be at most 63 characters"
        )
    if problems:
        raise BadRequestError(
            f'unable to parse requirement: key: Invalid value: "{key}": {"; ".join(problems)}'
        )


def _check_value(value: str) -> None:
    if value and (len(value) > 63 or not _NAME.fullmatch(value)):
        raise BadRequestError(
            f'unable to parse requirement: values[0]: Invalid value: "{value}": a valid label '
            "value must be 63 characters or less, empty, or begin and end with an "
            "alphanumeric character with '-', '_' or '.' between"
        )


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str | None:
        part = self.peek()
        self.at += 1
        return part

    def fail(self, found: str | None, expected: str) -> BadRequestError:
        shown = "end of string" if found is None else found
        return BadRequestError(
            f"unable to parse requirement: found '{shown}', expected: {expected}"
        )

    def identifier(self, expected: str) -> str:
        part = self.take()
        if not _is_identifier(part):
            raise self.fail(part, expected)
        assert part is not None
        return part

    def values(self) -> tuple[str, ...]:
        if (part := self.take()) != "(":
            raise self.fail(part, "'('")
        values: list[str] = []
        while True:
            part = self.peek()
            if part in (",", ")"):
                values.append("")  # an empty value: "in (a,,b)"; "in ()" is "in ("")"
            else:
                values.append(self.identifier("identifier"))
            if len(values) > MAX_REQUIREMENTS:
                raise BadRequestError(
                    f"a set of the selector has more than {MAX_REQUIREMENTS} values"
                )
            part = self.take()
            if part == ")":
                break
            if part != ",":
                raise self.fail(part, "',' or ')'")
        for value in values:
            _check_value(value)
        return tuple(values)

    def requirement(self) -> Test:
        if self.peek() == "!":
            self.take()
            key = self.identifier("identifier")
            _check_key(key)
            return lambda obj: key not in _labels(obj)
        key = self.identifier("identifier")
        _check_key(key)
        operator = self.peek()
        if operator in (None, ","):
            return lambda obj: key in _labels(obj)
        self.take()
        if operator in ("=", "==", "!="):
            value = self.take() if _is_identifier(self.peek()) else ""
            assert value is not None
            _check_value(value)
            if operator == "!=":
                return lambda obj: _labels(obj).get(key) != value
            return lambda obj: key in _labels(obj) and _labels(obj)[key] == value
        if operator in ("in", "notin"):
            chosen = frozenset(self.values())
            if operator == "notin":
                return lambda obj: _labels(obj).get(key) not in chosen
            return lambda obj: key in _labels(obj) and _labels(obj)[key] in chosen
        if operator in ("<", ">"):
            bound = self.identifier("an integer")
            if not _INTEGER.fullmatch(bound):
                raise BadRequestError(
                    f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be "
                    f"an integer: {bound!r}"
                )
            limit = int(bound)
            greater = operator == ">"
            return lambda obj: _compares(_labels(obj).get(key), limit, greater)
        raise self.fail(operator, "'=', '!=', '==', 'in', notin'")

    def parse(self) -> tuple[Test, ...]:
        tests: list[Test] = []
        if self.peek() is None:
            return ()
        while True:
            tests.append(self.requirement())
            if len(tests) > MAX_REQUIREMENTS:
                raise BadRequestError(f"the selector has more than {MAX_REQUIREMENTS} requirements")
            part = self.take()
            if part is None:
                return tuple(tests)
            if part != ",":
                raise self.fail(part, "',' or 'end of string'")


def _compares(value: Any, limit: int, greater: bool) -> bool:
    if not isinstance(value, str) or not _INTEGER.fullmatch(value):
        return False
    return int(value) > limit if greater else int(value) < limit


def parse_label_selector(text: str) -> Selector:
    """A ``labelSelector`` query value; BadRequestError (400) for one that does not parse."""
    _bounded(text, "the label selector")
    return Selector(text, _LabelParser(text).parse())


# -- fields ---------------------------------------------------------------------------------

_COMMON_FIELDS = ("metadata.name", "metadata.namespace")
#: Fields each kind can be selected on, besides :data:`_COMMON_FIELDS`.
_KIND_FIELDS = {"ImageStream": ("spec.dockerImageRepository", "status.dockerImageRepository")}


def _field_value(obj: Mapping[str, Any], field: str) -> str:
    section, _, member = field.partition(".")
    holder = obj.get(section)
    value = holder.get(member) if isinstance(holder, dict) else None
    return value if isinstance(value, str) else ""


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


def _unescape(value: str, term: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            following = value[i + 1 : i + 2]
            if following not in ("\\", ",", "="):
                raise BadRequestError(
                    f"invalid field selector: invalid escape sequence in {term!r}"
                )
            out.append(following)
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _split_term(term: str) -> tuple[str, str, str] | None:
    """``fields.splitTerm``: at the first position holding an operator (``!=``, ``==``, ``=``)."""
    for i in range(len(term)):
        for operator in ("!=", "==", "="):
            if term.startswith(operator, i):
                return term[:i], operator, term[i + len(operator) :]
    return None


def _field_term(term: str, kind: str) -> Test:
    split = _split_term(term)
    if split is None:
        raise BadRequestError(f"invalid selector: '{term}'; can't understand '{term}'")
    field, operator, raw = split
    if field not in _COMMON_FIELDS + _KIND_FIELDS.get(kind, ()):
        raise BadRequestError(f"field label not supported: {field}")
    value = _unescape(raw, term)
    if operator == "!=":
        return lambda obj: _field_value(obj, field) != value
    return lambda obj: _field_value(obj, field) == value


def parse_field_selector(text: str, kind: str) -> Selector:
    """A ``fieldSelector`` for a list of ``kind``; BadRequestError (400) for a field the server
    cannot select on, or a selector that does not parse."""
    _bounded(text, "the field selector")
    terms = [t for t in _split_unescaped(text, ",") if t.strip()] if text.strip() else []
    if len(terms) > MAX_REQUIREMENTS:
        raise BadRequestError(f"the field selector has more than {MAX_REQUIREMENTS} terms")
    return Selector(text, tuple(_field_term(term, kind) for term in terms))


# -- selected lists -------------------------------------------------------------------------

ListPage = Callable[
    [str, "str | None", "int | None", "str | None"],
    tuple[list[dict[str, Any]], "str | None", dict[str, Any]],
]


@dataclass(frozen=True)
class ListSelector:
    """A list request's label and field selectors together."""

    labels: Selector
    fields: Selector

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return self.labels.matches(obj) and self.fields.matches(obj)

    @property
    def empty(self) -> bool:
        return self.labels.empty and self.fields.empty


def selected_page(
    list_page: ListPage,
    kind: str,
    namespace: str | None,
    limit: int | None,
    continue_token: str | None,
    selector: ListSelector,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One page of the objects ``selector`` matches, and the list's ``metadata``.

    As kube-apiserver's store does: pages are read on until ``limit`` objects matched or the
    list ended — or :data:`MAX_SCANNED_PER_PAGE` objects were read, when the page may hold
    fewer (clients follow ``continue``). With a selector, ``remainingItemCount`` is not
    known and not sent.
    """
    if selector.empty:
        items, _, meta = list_page(kind, namespace, limit, continue_token)
        return items, meta
    paged = limit is not None and limit > 0
    matched: list[dict[str, Any]] = []
    scanned = 0
    token = continue_token
    while True:
        want = limit - len(matched) if paged and limit is not None else None
        page, token, meta = list_page(kind, namespace, want, token)
        scanned += len(page)
        matched.extend(obj for obj in page if selector.matches(obj))
        if token is None or not paged or len(matched) >= (limit or 0):
            break
        if scanned >= MAX_SCANNED_PER_PAGE:
            break
    selected: dict[str, Any] = {"resourceVersion": meta.get("resourceVersion", "")}
    if token is not None:
        selected["continue"] = token
    return matched, selected

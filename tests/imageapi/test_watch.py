"""``watch=true`` on the store's lists: WatchEvent lines, bookmarks, 410, bounds, processes."""

from __future__ import annotations

import copy
import http.client
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import API_PREFIX, WATCH_HUB, create_store_app
from sigverify.imageapi.store.watch import WatchLimits
from tests.imageapi.builders import conditions, digest_of, image, stream
from tests.imageapi.servers import serve_wsgi

NAME = digest_of("app")
LIB = digest_of("lib")
#: Short watches: every timeoutSeconds is cut to 0.3 s (the bound).
FAST = WatchLimits(poll_seconds=0.02, bookmark_seconds=3600.0, max_timeout_seconds=0.3)


@pytest.fixture
def seeded(store: ImageStore) -> ImageStore:
    store.put_object(image("app", signatures=2))  # revision 1001
    store.put_object(image("lib"))  # 1002
    store.put_object(stream("demo", "app", {"latest": [NAME]}))  # 1003
    store.put_object(stream("other", "tool", {"v1": [LIB]}))  # 1004
    return store


def _client(store: ImageStore, limits: WatchLimits = FAST) -> FlaskClient:
    return create_store_app(store, watch_limits=limits).test_client()


def _events(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    text = response.get_data(as_text=True)
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def _summary(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (
            e["type"],
            e["object"]["metadata"].get("name", ""),
            e["object"]["metadata"].get("resourceVersion", ""),
        )
        for e in events
    ]


def _record(store: ImageStore, name: str = NAME, status: str = "True") -> str:
    read = store.get_image(name)
    read["signatures"][0]["conditions"] = conditions(status)
    written = store.update_image(read)
    return str(written["metadata"]["resourceVersion"])


def test_events_after_a_resource_version_carry_the_object_as_written(seeded: ImageStore) -> None:
    first = _record(seeded, status="True")  # 1005
    second = _record(seeded, status="False")  # 1006
    response = _client(seeded).get(
        f"{API_PREFIX}/images?watch=true&resourceVersion=1004&timeoutSeconds=1"
    )
    events = _events(response)
    assert _summary(events) == [("MODIFIED", NAME, first), ("MODIFIED", NAME, second)]
    assert [e["object"]["signatures"][0]["conditions"][0]["status"] for e in events] == [
        "True",
        "False",
    ]
    assert events[1]["object"] == seeded.get_image(NAME)
    assert events[0]["object"]["kind"] == "Image"
    assert events[0]["object"]["apiVersion"] == "image.openshift.io/v1"


@pytest.mark.slow  # waits out a real deadline or timeout
def test_without_a_resource_version_every_object_is_added_first(seeded: ImageStore) -> None:
    client = _client(seeded)
    for version in ("", "0"):
        events = _events(
            client.get(f"{API_PREFIX}/images?watch=1&resourceVersion={version}&timeoutSeconds=1")
        )
        assert _summary(events) == sorted(
            [("ADDED", NAME, "1001"), ("ADDED", LIB, "1002")], key=lambda e: e[1]
        )


@pytest.mark.slow  # waits out a real deadline or timeout
def test_imagestream_watches_are_by_kind_and_namespace(seeded: ImageStore) -> None:
    client = _client(seeded)
    events = _events(
        client.get(f"{API_PREFIX}/namespaces/demo/imagestreams?watch=true&timeoutSeconds=1")
    )
    assert _summary(events) == [("ADDED", "app", "1003")]
    all_streams = _events(
        client.get(f"{API_PREFIX}/imagestreams?watch=true&resourceVersion=1000&timeoutSeconds=1")
    )
    assert _summary(all_streams) == [("ADDED", "app", "1003"), ("ADDED", "tool", "1004")]
    assert all_streams[0]["object"]["kind"] == "ImageStream"
    images = _events(
        client.get(f"{API_PREFIX}/images?watch=true&resourceVersion=1000&timeoutSeconds=1")
    )
    assert _summary(images) == [("ADDED", NAME, "1001"), ("ADDED", LIB, "1002")]


def test_signature_create_and_delete_are_modified_events(seeded: ImageStore) -> None:
    from tests.imageapi.builders import signature

    seeded.add_signature(signature(NAME, "new"))
    seeded.delete_signature(f"{NAME}@new")
    events = _events(
        _client(seeded).get(f"{API_PREFIX}/images?watch=true&resourceVersion=1004&timeoutSeconds=1")
    )
    assert _summary(events) == [("MODIFIED", NAME, "1005"), ("MODIFIED", NAME, "1006")]
    assert len(events[0]["object"]["signatures"]) == 3
    assert len(events[1]["object"]["signatures"]) == 2


def test_a_resource_version_older_than_the_log_is_410_expired(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "s.db", history=3)
    for i in range(70):  # revisions 1001..1070; the log is trimmed at 1024 (to 1022..)
        store.put_object(image(f"i{i}"))
    client = _client(store)
    response = client.get(f"{API_PREFIX}/images?watch=true&resourceVersion=1020&timeoutSeconds=5")
    assert _events(response) == [
        {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": "too old resource version: 1020 (1022)",
                "reason": "Expired",
                "code": 410,
            },
        }
    ]
    kept = _events(
        client.get(f"{API_PREFIX}/images?watch=true&resourceVersion=1021&timeoutSeconds=1")
    )
    assert [e["object"]["metadata"]["resourceVersion"] for e in kept] == [
        str(r) for r in range(1022, 1071)
    ]
    assert {e["type"] for e in kept} == {"ADDED"}


def test_a_store_file_from_before_the_log_serves_no_older_watch(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    store = ImageStore(path)
    store.put_object(image("app"))  # 1001
    with sqlite3.connect(path) as db:  # as a file written before the log existed
        db.execute("DROP TABLE changes")
        db.execute("DROP TABLE change_log")
        db.execute("UPDATE revision SET value = 1500")
    reopened = ImageStore(path)
    events = _events(
        _client(reopened).get(
            f"{API_PREFIX}/images?watch=true&resourceVersion=1001&timeoutSeconds=1"
        )
    )
    assert events[0]["object"]["message"] == "too old resource version: 1001 (1501)"
    assert (
        _events(
            _client(reopened).get(
                f"{API_PREFIX}/images?watch=true&resourceVersion=1500&timeoutSeconds=1"
            )
        )
        == []
    )


@pytest.mark.slow  # waits out a real deadline or timeout
def test_bookmarks_when_asked_and_at_the_end(seeded: ImageStore) -> None:
    limits = WatchLimits(poll_seconds=0.02, bookmark_seconds=0.2, max_timeout_seconds=0.5)
    client = _client(seeded, limits)
    events = _events(
        client.get(
            f"{API_PREFIX}/images?watch=true&resourceVersion=1004&timeoutSeconds=1"
            "&allowWatchBookmarks=true"
        )
    )
    bookmark = {
        "type": "BOOKMARK",
        "object": {
            "kind": "Image",
            "apiVersion": "image.openshift.io/v1",
            "metadata": {"resourceVersion": "1004"},
        },
    }
    assert 2 <= len(events) <= 5
    assert all(e == bookmark for e in events)
    quiet = _events(
        _client(seeded).get(f"{API_PREFIX}/images?watch=true&resourceVersion=1004&timeoutSeconds=1")
    )
    assert quiet == []


@pytest.mark.slow  # waits out a real deadline or timeout
def test_timeout_is_honoured_and_bounded(seeded: ImageStore) -> None:
    client = _client(seeded, WatchLimits(poll_seconds=0.02, max_timeout_seconds=0.25))
    started = time.monotonic()
    assert (
        _events(
            client.get(f"{API_PREFIX}/images?watch=true&resourceVersion=1004&timeoutSeconds=600")
        )
        == []
    )
    assert time.monotonic() - started < 3
    started = time.monotonic()
    assert _events(client.get(f"{API_PREFIX}/images?watch=true&resourceVersion=1004")) == []
    assert 0.24 < time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("watch=maybe", 'watch: Invalid value: "maybe": must be true or false'),
        (
            "watch=true&timeoutSeconds=-1",
            'timeoutSeconds: Invalid value: "-1": must be a whole number of seconds',
        ),
        (
            "watch=true&timeoutSeconds=1.5",
            'timeoutSeconds: Invalid value: "1.5": must be a whole number of seconds',
        ),
        (
            "watch=true&resourceVersion=abc",
            'resourceVersion: Invalid value: "abc": must be a revision',
        ),
        (
            "watch=true&allowWatchBookmarks=yes!",
            'allowWatchBookmarks: Invalid value: "yes!": must be true or false',
        ),
    ],
)
def test_bad_watch_parameters_are_a_400(seeded: ImageStore, query: str, message: str) -> None:
    response = _client(seeded).get(f"{API_PREFIX}/images?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["reason"] == "BadRequest" and body["message"] == message


def test_read_tokens_may_watch(seeded: ImageStore) -> None:
    client = create_store_app(seeded, tokens={"r": "read"}, watch_limits=FAST).test_client()
    unauthenticated = client.get(f"{API_PREFIX}/images?watch=true&timeoutSeconds=1")
    assert unauthenticated.status_code == 401
    response = client.get(
        f"{API_PREFIX}/images?watch=true&resourceVersion=1004&timeoutSeconds=1",
        headers={"Authorization": "Bearer r"},
    )
    assert _events(response) == []


# -- over a real HTTP server --------------------------------------------------------------


class _Watch:
    """A watch request over a real connection, read line by line."""

    def __init__(self, base: str, query: str, timeout: float = 10.0) -> None:
        url = urlsplit(base)
        self.connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=timeout)
        self.connection.request("GET", f"{API_PREFIX}/images?{query}")
        self.response = self.connection.getresponse()

    def next_event(self) -> dict[str, Any]:
        line = self.response.readline()
        assert line, "the watch ended"
        event: dict[str, Any] = json.loads(line)
        return event

    def rest(self) -> bytes:
        return self.response.read()

    def close(self) -> None:
        self.response.close()  # the response holds the socket open too
        self.connection.close()


@pytest.mark.slow  # waits out a real deadline or timeout
def test_a_live_watch_sees_writes_and_ends_at_its_timeout(seeded: ImageStore) -> None:
    app = create_store_app(seeded)
    with serve_wsgi(app) as base:
        watch = _Watch(base, "watch=true&resourceVersion=1004&timeoutSeconds=1")
        assert watch.response.status == 200
        assert watch.response.getheader("Content-Type") == "application/json"
        started = time.monotonic()
        version = _record(seeded)
        event = watch.next_event()
        assert time.monotonic() - started < 2
        assert (event["type"], event["object"]["metadata"]["resourceVersion"]) == (
            "MODIFIED",
            version,
        )
        assert watch.rest() == b""  # the timeout ends the stream
        assert time.monotonic() - started < 4
        watch.close()
        assert app.extensions[WATCH_HUB].active == 0


@pytest.mark.slow
def test_a_write_in_another_process_reaches_the_watch(seeded: ImageStore) -> None:
    app = create_store_app(seeded)
    script = (
        "import sys\n"
        "from sigverify.imageapi.store.image_store import ImageStore\n"
        "from tests.imageapi.builders import conditions\n"
        "s = ImageStore(sys.argv[1])\n"
        "i = s.get_image(sys.argv[2])\n"
        "i['signatures'][1]['conditions'] = conditions('False')\n"
        "print(s.update_image(i)['metadata']['resourceVersion'])\n"
    )
    with serve_wsgi(app) as base:
        watch = _Watch(base, "watch=true&resourceVersion=1004&timeoutSeconds=20")
        done = subprocess.run(
            [sys.executable, "-c", script, str(seeded.path), NAME],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        event = watch.next_event()
        assert event["type"] == "MODIFIED"
        assert event["object"]["metadata"]["resourceVersion"] == done.stdout.strip()
        assert event["object"]["signatures"][1]["conditions"][0]["status"] == "False"
        watch.close()


def test_watchers_are_bounded_and_a_gone_client_frees_its_place(seeded: ImageStore) -> None:
    app = create_store_app(seeded, watch_limits=WatchLimits(max_watchers=1, poll_seconds=0.05))
    hub = app.extensions[WATCH_HUB]
    with serve_wsgi(app) as base:
        first = _Watch(base, "watch=true&resourceVersion=1004&timeoutSeconds=30")
        assert first.response.status == 200
        second = _Watch(base, "watch=true&resourceVersion=1004&timeoutSeconds=30")
        assert second.response.status == 429
        assert second.response.getheader("Retry-After") == "1"
        body = json.loads(second.rest())
        assert (body["reason"], body["code"]) == ("TooManyRequests", 429)
        assert body["message"] == (
            "too many watches: this server process serves at most 1 at a time; retry later"
        )
        second.close()
        first.close()  # the client leaves while nothing is written
        deadline = time.monotonic() + 5
        while hub.active and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hub.active == 0
        third = _Watch(base, "watch=true&resourceVersion=1004&timeoutSeconds=1")
        assert third.response.status == 200
        third.close()


def test_closing_the_hub_ends_every_watch(seeded: ImageStore) -> None:
    app = create_store_app(seeded)
    with serve_wsgi(app) as base:
        watch = _Watch(
            base, "watch=true&resourceVersion=1004&timeoutSeconds=30&allowWatchBookmarks=true"
        )
        started = time.monotonic()
        app.extensions[WATCH_HUB].close()
        rest = watch.rest().decode()
        assert time.monotonic() - started < 3
        assert [json.loads(line)["type"] for line in rest.splitlines()] == ["BOOKMARK"]
        refused = _Watch(base, "watch=true&timeoutSeconds=1")
        assert refused.response.status == 429
        watch.close()
        refused.close()


@pytest.mark.slow  # waits out a real deadline or timeout
def test_many_changes_stream_in_batches_without_gaps(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "s.db")
    store.put_object(image("app", signatures=1))
    for i in range(25):  # two and a half batches of 10
        read = store.get_image(NAME)
        read["metadata"].setdefault("labels", {})["n"] = str(i)
        store.update_image(copy.deepcopy(read))
    small = WatchLimits(poll_seconds=0.02, max_timeout_seconds=0.3, batch=10)
    events = _events(
        _client(store, small).get(f"{API_PREFIX}/images?watch=true&resourceVersion=1001")
    )
    assert [e["object"]["metadata"]["labels"]["n"] for e in events] == [str(i) for i in range(25)]
    replay = _events(_client(store, small).get(f"{API_PREFIX}/images?watch=true"))
    assert _summary(replay) == [("ADDED", NAME, "1026")]


def test_send_initial_events_ends_them_with_an_annotated_bookmark(seeded: ImageStore) -> None:
    client = _client(seeded)
    query = (
        "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
        "&allowWatchBookmarks=true&resourceVersion=1002&timeoutSeconds=1"
    )
    events = _events(client.get(f"{API_PREFIX}/namespaces/demo/imagestreams?{query}"))
    assert _summary(events[:1]) == [("ADDED", "app", "1003")]
    assert events[1] == {
        "type": "BOOKMARK",
        "object": {
            "kind": "ImageStream",
            "apiVersion": "image.openshift.io/v1",
            "metadata": {
                "resourceVersion": "1004",
                "annotations": {"k8s.io/initial-events-end": "true"},
            },
        },
    }
    assert events[2:] == [
        {
            "type": "BOOKMARK",
            "object": {
                "kind": "ImageStream",
                "apiVersion": "image.openshift.io/v1",
                "metadata": {"resourceVersion": "1004"},
            },
        }
    ]
    for bad, message in (
        (
            "watch=true&sendInitialEvents=true&allowWatchBookmarks=true",
            "sendInitialEvents: Forbidden: sendInitialEvents is forbidden unless "
            'resourceVersionMatch is "NotOlderThan"',
        ),
        (
            "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan",
            "allowWatchBookmarks: Forbidden: sendInitialEvents requires setting "
            "allowWatchBookmarks to true",
        ),
    ):
        response = client.get(f"{API_PREFIX}/images?{bad}")
        assert (response.status_code, response.get_json()["message"]) == (400, message)


def test_head_of_a_watch_is_the_list(seeded: ImageStore) -> None:
    client = _client(seeded)
    response = client.head(f"{API_PREFIX}/images?watch=true")
    assert response.status_code == 200 and response.get_data() == b""
    assert client.application.extensions[WATCH_HUB].active == 0


def test_a_selector_turns_changes_into_added_modified_and_deleted(seeded: ImageStore) -> None:
    from sigverify.imageapi.store.watch import WatchHub, WatchRequest, watch_events

    def team(store: ImageStore, value: str | None) -> dict[str, Any]:
        read = store.get_image(NAME)
        labels = read["metadata"].setdefault("labels", {})
        if value is None:
            labels.pop("team", None)
        else:
            labels["team"] = value
        return store.update_image(read)

    def of_team_a(obj: dict[str, Any]) -> bool:
        assert obj["kind"] == "Image"  # the predicate sees typed objects
        return bool((obj["metadata"].get("labels") or {}).get("team") == "a")

    added = team(seeded, "a")  # 1005: starts matching
    modified = _record(seeded)  # 1006: still matching
    before_leaving = seeded.get_image(NAME)
    team(seeded, "b")  # 1007: stops matching
    team(seeded, None)  # 1008: still not matching
    back = team(seeded, "a")  # 1009: matches again
    hub = WatchHub(seeded, FAST)
    lines = watch_events(hub, WatchRequest("Image", None, 1004, 0.2, False), matches=of_team_a)
    events = [json.loads(line) for line in lines if line]
    leaving = dict(
        before_leaving, metadata=dict(before_leaving["metadata"], resourceVersion="1007")
    )
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED", "ADDED"]
    assert events[0]["object"] == added
    assert events[1]["object"]["metadata"]["resourceVersion"] == modified
    assert events[2]["object"] == leaving  # its content before, at the change's version
    assert events[3]["object"] == back
    listed = watch_events(hub, WatchRequest("Image", None, None, 0.2, False), matches=of_team_a)
    assert _summary([json.loads(line) for line in listed if line]) == [("ADDED", NAME, "1009")]


@pytest.mark.slow  # waits out a real deadline or timeout
def test_rest_watch_with_selectors_and_table_events(seeded: ImageStore) -> None:
    client = _client(seeded)
    read = seeded.get_image(NAME)
    read["metadata"]["labels"] = {"team": "a"}
    seeded.update_image(read)  # 1005
    query = "watch=true&resourceVersion=1000&labelSelector=team%3Da"
    events = _events(client.get(f"{API_PREFIX}/images?{query}"))
    assert _summary(events) == [("ADDED", NAME, "1005")]  # 1001 did not match yet
    by_name = _events(
        client.get(f"{API_PREFIX}/images?watch=true&fieldSelector=metadata.name%3D{LIB}")
    )
    assert _summary(by_name) == [("ADDED", LIB, "1002")]
    table = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json"
    rows = _events(
        client.get(
            f"{API_PREFIX}/images?watch=true&resourceVersion=1004", headers={"Accept": table}
        )
    )
    assert [e["type"] for e in rows] == ["MODIFIED"]
    shown = rows[0]["object"]
    assert (shown["kind"], shown["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert shown["metadata"] == {"resourceVersion": "1005"}
    assert [c["name"] for c in shown["columnDefinitions"]][:3] == [
        "Name",
        "Image Reference",
        "Verification",
    ]
    assert shown["rows"][0]["cells"][0] == NAME
    assert shown["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    bad = client.get(f"{API_PREFIX}/images?watch=true&fieldSelector=spec.x%3Dy")
    assert bad.status_code == 400 and bad.get_json()["reason"] == "BadRequest"


def test_a_store_failure_mid_watch_ends_it_with_an_error_event(seeded: ImageStore) -> None:
    import sqlite3

    from sigverify.imageapi.store.watch import WatchHub, WatchRequest, watch_events

    lines = watch_events(WatchHub(seeded, FAST), WatchRequest("Image", None, 1004, 5.0, False))
    assert next(lines) == b""  # headers go out first
    with sqlite3.connect(seeded.path) as db:
        db.execute("DROP TABLE change_log")
    events = [json.loads(line) for line in lines]
    assert [e["type"] for e in events] == ["ERROR"]
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 500, "InternalError")
    assert status["message"] == f"the store {seeded.path} failed: no such table: change_log"


def test_a_live_watch_sees_every_revision_of_concurrent_writers_in_order(
    tmp_path: Path,
) -> None:
    import threading

    from sigverify.imageapi.store.watch import WatchHub, WatchRequest, watch_events

    store = ImageStore(tmp_path / "s.db")
    names = [digest_of(seed) for seed in ("w0", "w1")]
    for seed in ("w0", "w1"):
        store.put_object(image(seed))  # 1001, 1002
    per_writer = 15

    def writer(name: str) -> None:
        mine = ImageStore(store.path)  # its own connections, as another worker's
        for i in range(per_writer):
            read = mine.get_image(name)
            read["metadata"]["labels"] = {"n": str(i)}
            mine.update_image(read)

    lines = watch_events(
        WatchHub(store, WatchLimits(poll_seconds=0.01, batch=4)),
        WatchRequest("Image", None, 1002, 10.0, False),
    )
    assert next(lines) == b""
    threads = [threading.Thread(target=writer, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    events: list[dict[str, Any]] = []
    for line in lines:
        events.append(json.loads(line))
        if len(events) == 2 * per_writer:
            break
    lines.close()
    for thread in threads:
        thread.join()
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == list(range(1003, 1003 + 2 * per_writer))  # every one, in order
    for name in names:
        mine = [e["object"] for e in events if e["object"]["metadata"]["name"] == name]
        assert [o["metadata"]["labels"]["n"] for o in mine] == [str(i) for i in range(per_writer)]
        assert mine[-1] == store.get_image(name)


def test_the_store_history_setting_reaches_the_file(tmp_path: Path) -> None:
    import sqlite3

    from sigverify.errors import InputError
    from sigverify.imageapi.factory import image_source, open_image_api
    from sigverify.settings import load_settings

    path = tmp_path / "s.db"
    environ = {"SIGVERIFY_STORE": str(path), "SIGVERIFY_STORE_HISTORY": "5"}
    settings = load_settings(environ=environ)
    assert settings.store_history == 5
    open_image_api(image_source(settings))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT size FROM change_log").fetchone() == (5,)
    ImageStore(path)  # a process that does not say keeps what the file says
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT size FROM change_log").fetchone() == (5,)
    with pytest.raises(InputError, match=r"store_history: must be 1\.\.1000000"):
        load_settings(environ={"SIGVERIFY_STORE_HISTORY": "0"}).validate()

"""kube-apiserver's static token file, read strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigverify.authn.tokenfile import MAX_TOKEN_FILE_BYTES, load_token_file, parse_token_file
from sigverify.authn.users import GROUP_ADMIN, GROUP_READ, GROUP_RECORD, Right, User, right_of
from sigverify.errors import InputError


def test_the_kube_apiserver_format() -> None:
    tokens = parse_token_file(
        't1,alice,u1,"sigverify:read,team-a"\n\nt2,bob,u2\nt3,carol,u3,sigverify:admin\n'
        't4,"dave, jr",u4,""\n',
        source="tokens.csv",
    )
    assert len(tokens) == 4
    assert tokens.authenticate("t1") == User("alice", "u1", (GROUP_READ, "team-a"))
    assert tokens.authenticate("t2") == User("bob", "u2", ())
    assert tokens.authenticate("t3") == User("carol", "u3", (GROUP_ADMIN,))
    assert tokens.authenticate("t4") == User("dave, jr", "u4", ())
    for unknown in ("", "t", "t1 ", "T1", "t5", "alice"):
        assert tokens.authenticate(unknown) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "t1,alice\n",
            "tokens.csv:1: a token line needs at least 3 columns (token, user name, "
            "user uid), found 2",
        ),
        ("t1,alice,u1\n,bob,u2\n", "tokens.csv:2: the token is empty"),
        ("t1,,u1\n", "tokens.csv:1: the user name is empty"),
        (
            "t1,alice,u1\nt1,bob,u2\n",
            "tokens.csv:2: this token is already given on an earlier line",
        ),
        ("", "a token file must name at least one token"),
        ('t1,"alice,u1\n', "tokens.csv: not valid CSV: unexpected end of data"),
    ],
)
def test_refusals(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_token_file(text, source="tokens.csv")
    assert str(caught.value) == message


def test_files(tmp_path: Path) -> None:
    path = tmp_path / "tokens.csv"
    with pytest.raises(InputError) as caught:
        load_token_file(path)
    assert str(caught.value) == f"{path}: cannot read the token file: No such file or directory"
    path.write_bytes(b"t1,al\xffice,u1\n")
    with pytest.raises(InputError) as caught:
        load_token_file(path)
    assert str(caught.value) == f"{path}: the token file is not valid UTF-8 (byte 5)"
    path.write_bytes(b"x" * (MAX_TOKEN_FILE_BYTES + 1))
    with pytest.raises(InputError) as caught:
        load_token_file(path)
    assert (
        str(caught.value) == f"{path}: the token file is larger than {MAX_TOKEN_FILE_BYTES} bytes"
    )


def test_rights_are_the_strongest_group() -> None:
    assert right_of(User("a")) is Right.NONE
    assert right_of(User("a", groups=("system:masters",))) is Right.NONE
    assert right_of(User("a", groups=(GROUP_READ,))) is Right.READ
    assert right_of(User("a", groups=(GROUP_RECORD, GROUP_READ))) is Right.RECORD
    assert right_of(User("a", groups=(GROUP_READ, GROUP_ADMIN))) is Right.ADMIN

"""Repository source classification (pure) and credential redaction."""

from __future__ import annotations

import os

import pytest
from hivemind.analysis.source import classify_source, redact, validate_source
from hivemind.errors import HiveMindError, InvalidRepositoryUrl
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(("source", "kind", "url"), [
    ("https://github.com/acme/shop.git", "https", "https://github.com/acme/shop.git"),
    ("  https://github.com/acme/shop  ", "https", "https://github.com/acme/shop"),
    ("http://127.0.0.1:8080/acme/shop.git", "http", "http://127.0.0.1:8080/acme/shop.git"),
    ("http://localhost/acme/shop", "http", "http://localhost/acme/shop"),
    ("http://[::1]:9000/x/y", "http", "http://[::1]:9000/x/y"),
    ("git@github.com:acme/shop.git", "ssh", "git@github.com:acme/shop.git"),
    ("github.com:acme/shop", "ssh", "github.com:acme/shop"),
    ("ssh://git@github.com:2222/acme/shop.git", "ssh", "ssh://git@github.com:2222/acme/shop.git"),
    ("git+ssh://git@host.example/acme/shop", "ssh", "git+ssh://git@host.example/acme/shop"),
    ("git://git.example.org/acme/shop.git", "git", "git://git.example.org/acme/shop.git"),
    ("file:///srv/git/shop.git", "file", "file:///srv/git/shop.git"),
    ("/srv/app", "local", "/srv/app"),
    ("./app", "local", os.path.abspath("app")),
    ("app", "local", os.path.abspath("app")),
    ("./odd:name", "local", os.path.abspath("odd:name")),
])
def test_valid_sources(source: str, kind: str, url: str) -> None:
    parsed = classify_source(source)
    assert (parsed.kind, parsed.url) == (kind, url)
    assert validate_source(source) == url


@pytest.mark.parametrize(("source", "fragment"), [
    ("", "empty"),
    ("   ", "empty"),
    ("ext::sh -c touch% /tmp/pwned", "remote-helper"),
    ("fd::17", "remote-helper"),
    ("--upload-pack=touch /tmp/x", "starts with '-'"),
    ("ssh://-oProxyCommand=touch%20x/repo", "not a valid host"),
    ("git@-oProxyCommand=x:repo", "not a valid host"),
    ("ftp://example.com/repo", "unsupported scheme"),
    ("https://", "no host"),
    ("https://github.com", "no repository path"),
    ("https://github.com/", "no repository path"),
    ("https://github.com:99999/a/b", "port"),
    ("https://github.com/a/b?ref=main", "no ?query"),
    ("http://github.com/acme/shop", "only accepted for loopback"),
    ("http://10.0.0.5/acme/shop", "only accepted for loopback"),
    ("https://bad_host!/a/b", "not a valid host"),
    ("file://otherhost/srv/x", "path on this machine"),
    ("https://github.com/a/b\nmalicious", "control characters"),
    ("git@github.com:", "has no repository path"),
])
def test_invalid_sources(source: str, fragment: str) -> None:
    with pytest.raises(InvalidRepositoryUrl) as info:
        classify_source(source)
    assert fragment in str(info.value)
    assert info.value.remediation


def test_credentials_never_reach_messages_or_display() -> None:
    parsed = classify_source("https://bob:s3cr3t@github.com/acme/private.git")
    assert parsed.url == "https://bob:s3cr3t@github.com/acme/private.git"  # git needs them
    assert "s3cr3t" not in parsed.display and "bob" not in parsed.display
    token = classify_source("https://ghp_abcdef123456@github.com/acme/private.git")
    assert "ghp_" not in token.display
    with pytest.raises(InvalidRepositoryUrl) as info:
        classify_source("http://bob:s3cr3t@github.com/acme/private.git")
    assert "s3cr3t" not in str(info.value) and "s3cr3t" not in str(info.value.context)


@pytest.mark.parametrize(("text", "expected"), [
    ("fatal: unable to access 'https://u:p@h/x/'", "fatal: unable to access 'https://h/x/'"),
    ("https://token@h/x and ssh://git@h/x", "https://h/x and ssh://git@h/x"),
    ("ssh://user:pw@h/x", "ssh://h/x"),
    ("no url here", "no url here"),
])
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


SECRET = st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=122, blacklist_characters="/@:?#[]\\`^"),
                 min_size=6, max_size=20)


@given(SECRET, SECRET)
def test_redact_removes_any_password(user: str, password: str) -> None:
    text = f"error cloning https://{user}:{password}@example.com/acme/app.git: denied"
    assert password not in redact(text)


@given(st.text(max_size=80))
def test_any_text_gives_a_source_or_a_typed_error(text: str) -> None:
    try:
        parsed = classify_source(text)
    except HiveMindError as exc:
        assert isinstance(exc, InvalidRepositoryUrl) and str(exc)
    else:
        assert parsed.kind in {"https", "http", "ssh", "git", "file", "local"}
        assert not parsed.url.startswith("-")

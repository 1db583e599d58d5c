"""Classify and normalise the repository a user names, without touching the network or git.

Kept pure (no I/O beyond ``os.path`` string operations) so it can be property-tested and so the
validate stage can reject a bad URL before anything is cloned. The adapter
(``hivemind.adapters.repositories``) calls it before every git command.

Accepted forms:

* ``https://host/owner/repo(.git)``; ``http://`` only to a loopback host (127.0.0.0/8, localhost,
  ::1) because plain http to anything else exposes the code and any token in transit;
* ``ssh://[user@]host[:port]/path`` and the scp-like ``[user@]host:owner/repo(.git)``;
* ``git://host[:port]/path``;
* ``file:///abs/path``;
* a local path (absolute, ``./`` or ``../`` relative, ``~``, or a bare relative name).

Git "remote helper" transports (``ext::``, ``fd::``, ``<helper>::<address>``) are refused: ``ext::``
runs an arbitrary command.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from hivemind.errors import InvalidRepositoryUrl

SourceKind = Literal["https", "http", "ssh", "git", "file", "local"]

_URL_SCHEMES = {"https": "https", "http": "http", "ssh": "ssh", "git+ssh": "ssh", "ssh+git": "ssh", "git": "git",
                "file": "file"}
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_USER_RE = re.compile(r"^[A-Za-z0-9._~%!$&'()*+,;=-]+$")
# [user@]host:path — git's own rule: a colon before the first slash and no "://".
_SCP_RE = re.compile(r"^(?:(?P<user>[^@/]*)@)?(?P<host>\[[^\]/]*\]|[^:/\[]*):(?P<path>.*)$")
_TRANSPORT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
_CREDENTIALS_RE = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


@dataclass(frozen=True)
class Source:
    """A classified repository source.

    ``url`` is what git is given (it may hold credentials); ``display`` never holds a password or
    token and is what goes into messages, logs and state.
    """

    kind: SourceKind
    url: str
    display: str

    @property
    def is_local(self) -> bool:
        return self.kind in ("local", "file")

    @property
    def local_path(self) -> str | None:
        """The filesystem path for ``local`` and ``file`` sources, else None."""
        if self.kind == "local":
            return self.url
        if self.kind == "file":
            return urlsplit(self.url).path
        return None


def redact(text: str) -> str:
    """Remove secrets from URLs inside ``text``.

    ``scheme://user:password@`` and ``http(s)://token@`` lose their user part entirely; ``ssh://``
    and ``git://`` keep a bare user name (``git@``), which is an account name, not a secret.
    """

    def _strip(match: re.Match[str]) -> str:
        scheme, userinfo = match.group("scheme"), match.group("userinfo")
        if ":" in userinfo or scheme.lower().startswith("http"):
            return scheme
        return match.group(0)

    return _CREDENTIALS_RE.sub(_strip, text)


def _bad(source: str, why: str) -> InvalidRepositoryUrl:
    shown = redact(source) if len(source) <= 200 else redact(source[:200]) + "..."
    return InvalidRepositoryUrl(f"invalid repository {shown!r}: {why}", context={"source": shown})


def _check_host(source: str, host: str) -> None:
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise _bad(source, f"{host!r} is not a valid IPv6 address") from None
        return
    if not host:
        raise _bad(source, "the URL has no host")
    if host.startswith("-") or not _HOST_RE.match(host):
        raise _bad(source, f"{host!r} is not a valid host name")


def _is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _classify_url(source: str) -> Source:
    parts = urlsplit(source)
    scheme = parts.scheme.lower()
    kind = _URL_SCHEMES.get(scheme)
    if kind is None:
        raise _bad(source, f"unsupported scheme {parts.scheme + '://'!r}; use https://, ssh://, git://, file:// "
                           "or git@host:owner/repo")
    if kind == "file":
        if parts.netloc not in ("", "localhost"):
            raise _bad(source, "file:// URLs must name a path on this machine (file:///path)")
        if not parts.path or parts.path == "/":
            raise _bad(source, "the file:// URL has no path")
        return Source("file", urlunsplit(("file", "", parts.path, "", "")), "file://" + parts.path)
    try:
        host, port = parts.hostname or "", parts.port
    except ValueError:
        raise _bad(source, "the port is not a number between 0 and 65535") from None
    raw_host = parts.netloc.rsplit("@", 1)[-1]
    if raw_host.startswith("["):
        host = raw_host[: raw_host.index("]") + 1] if "]" in raw_host else raw_host
    _check_host(source, host)
    if port == 0:
        raise _bad(source, "port 0 is not a valid port")
    if parts.username is not None and not _USER_RE.match(parts.username):
        raise _bad(source, "the user name in the URL has characters git cannot use")
    path = parts.path.strip("/")
    if not path:
        raise _bad(source, "the URL names a host but no repository path (expected host/owner/repo)")
    if parts.query or parts.fragment:
        raise _bad(source, "repository URLs take no ?query or #fragment; give the ref with --ref")
    if kind == "http" and not _is_loopback(host):
        raise _bad(source, "plain http:// is only accepted for loopback hosts; use https://")
    url = urlunsplit((scheme, parts.netloc, parts.path, "", ""))
    return Source(kind, url, redact(url))


def classify_source(source: str) -> Source:
    """Classify ``source`` and return its normalised form, or raise InvalidRepositoryUrl.

    A local path is made absolute (``~`` expanded) but its existence is not checked here: that is
    the adapter's job and is reported as RepositoryNotFound.
    """
    if not isinstance(source, str):
        raise InvalidRepositoryUrl(f"the repository must be a string, got {type(source).__name__}")
    text = source.strip()
    if not text:
        raise _bad(source, "it is empty")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise _bad(source, "it contains control characters (a newline or tab?)")
    if text.startswith("-"):
        raise _bad(source, "it starts with '-', which git would read as an option")
    if _TRANSPORT_RE.match(text):
        raise _bad(source, "git remote-helper transports (like ext::) are not accepted")
    if "://" in text:
        return _classify_url(text)
    if text.startswith(("/", "./", "../", "~")) or text in (".", ".."):
        return _local(text)
    match = _SCP_RE.match(text)
    if match and "/" not in text.split(":", 1)[0]:
        user, host, path = match.group("user"), match.group("host"), match.group("path")
        if user is not None and not _USER_RE.match(user):
            raise _bad(source, "the user name before '@' has characters git cannot use")
        _check_host(text, host)
        if path.startswith("-"):
            raise _bad(source, "the repository path starts with '-'")
        if not path.strip("/"):
            raise _bad(source, "the ssh address has no repository path (expected git@host:owner/repo)")
        return Source("ssh", text, text)
    return _local(text)


def _local(text: str) -> Source:
    path = os.path.abspath(os.path.expanduser(text))
    return Source("local", path, path)


def validate_source(source: str) -> str:
    """Return the normalised source string git should be given, or raise InvalidRepositoryUrl."""
    return classify_source(source).url

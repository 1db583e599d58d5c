"""The emulator's state on disk: one pickle of every loaded moto backend, restored at start.

Why pickle: moto keeps every service's state as plain Python objects in module-level
``BackendDict``s, and they point at each other (a CloudFormation stack's resource map holds the
EC2 and ELBv2 model objects themselves). One ``pickle.dump`` of all loaded backends keeps those
shared references; a per-service export would not.

What does not pickle is replaced by a reducer (``_Pickler.reducer_override``):

- locks, RLocks, Conditions, Events, Semaphores -> fresh ones (nobody holds them after a restart);
- threads, thread pools, sockets, open files, boto3/botocore clients and sessions, weak
  references, generators -> ``None`` (they belong to the process that died);
- ``tempfile.SpooledTemporaryFile`` (S3 object bodies) -> its bytes, wrapped again on load;
- ``queue.Queue`` -> a fresh queue with the same items.

``Snapshotter`` writes ``<state>/emulator/state.pickle`` atomically (tmp + rename) from a
background thread, at most every ``interval`` seconds and only when a request arrived since the
last dump (``RequestCounter`` wraps the WSGI app), plus a final dump at clean shutdown. A dump
that races a mutating request ("changed size during iteration") is retried on the next tick;
the last good snapshot stays in place when a dump fails.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import io
import logging
import pickle
import queue
import socket
import sys
import tempfile
import threading
import time
import types
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

log = logging.getLogger("hivemind.local.persistence")

SNAPSHOT_DIR = "emulator"
SNAPSHOT_FILE = "state.pickle"
FORMAT_VERSION = 1
DEFAULT_INTERVAL_S = 0.75


def snapshot_path(state_dir: Path) -> Path:
    return state_dir / SNAPSHOT_DIR / SNAPSHOT_FILE


def has_snapshot(state_dir: Path) -> bool:
    return snapshot_path(state_dir).is_file()


# --- reducers ----------------------------------------------------------------------------------
def _none() -> None:
    return None


def _spooled(data: bytes, max_size: int) -> tempfile.SpooledTemporaryFile[bytes]:
    body: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(max_size=max_size)  # noqa: SIM115
    body.write(data)
    body.seek(0)
    return body


def _fresh_queue(kind: type, maxsize: int, items: list[Any]) -> queue.Queue[Any]:
    fresh = kind(maxsize)
    for item in items:
        fresh.put_nowait(item)
    return fresh


def _new_defaultdict(kind: type, factory: Callable[[], Any] | None) -> Any:
    """An empty ``kind`` (defaultdict or a subclass) without calling the subclass's __init__
    (moto's ParameterDict needs arguments); pickle then sets its attributes and items."""
    fresh = kind.__new__(kind)
    collections.defaultdict.__init__(fresh, factory)
    return fresh


def _local(function: Any) -> bool:
    """A lambda or a function defined inside another: pickle cannot name it."""
    return "<" in str(getattr(function, "__qualname__", ""))


def _reduce_defaultdict(obj: Any) -> Any:
    """defaultdicts and their subclasses: built without __init__; a factory that is a lambda
    (``defaultdict(lambda: {})``) becomes "a deep copy of what it returns now", which is what
    those lambdas build."""
    factory = obj.default_factory
    if factory is not None and _local(factory):
        factory = functools.partial(copy.deepcopy, factory())
    return _new_defaultdict, (type(obj), factory), (getattr(obj, "__dict__", None) or None), None, iter(list(obj.items()))


def _reduce_spooled(obj: Any) -> tuple[Any, ...]:
    position = obj.tell()
    obj.seek(0)
    data = obj.read()
    obj.seek(position)
    return _spooled, (data, int(getattr(obj, "_max_size", 0) or 0))


def _load_certificate(pem: bytes) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem)


def _load_private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, None)


def _load_public_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_public_key(pem)


def _reduce_crypto(obj: Any) -> Any:
    """cryptography's keys and certificates (EC2 key pairs, KMS keys, ACM) live in Rust objects:
    saved as PEM, loaded again."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization as ser

    if isinstance(obj, x509.Certificate):
        return _load_certificate, (obj.public_bytes(ser.Encoding.PEM),)
    if hasattr(obj, "private_bytes"):
        return _load_private_key, (obj.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()),)
    if hasattr(obj, "public_bytes"):
        return _load_public_key, (obj.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo),)
    return NotImplemented


def _reduce_queue(obj: Any) -> tuple[Any, ...]:
    with obj.mutex:
        items = list(obj.queue)
    return _fresh_queue, (type(obj), obj.maxsize, items)


_LOCK_TYPES: dict[type, Callable[[], Any]] = {
    type(threading.Lock()): threading.Lock,
    type(threading.RLock()): threading.RLock,
}
_FRESH_TYPES: tuple[type, ...] = (threading.Condition, threading.Event, threading.Semaphore, threading.Barrier)
_DROPPED_TYPES: tuple[type, ...] = (
    threading.Thread, Executor, socket.socket, io.IOBase, weakref.ReferenceType, types.GeneratorType,
    types.FrameType, types.CoroutineType,
)


def _botocore_types() -> tuple[type, ...]:
    found: list[type] = []
    with contextlib.suppress(ImportError):
        import botocore.client
        import botocore.session

        found += [botocore.client.BaseClient, botocore.session.Session]
    with contextlib.suppress(ImportError):
        import boto3.session

        found.append(boto3.session.Session)
    with contextlib.suppress(ImportError):
        import boto3.resources.base

        found.append(boto3.resources.base.ServiceResource)
    return tuple(found)


class _Pickler(pickle.Pickler):
    """A pickler that turns process-bound objects into fresh ones or None (see the module doc)."""

    _cache: dict[type, Callable[[Any], Any] | None] = {}
    _dropped: tuple[type, ...] | None = None

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        try:
            reducer = self._cache[kind]
        except KeyError:
            reducer = self._cache[kind] = self._reducer_for(kind)
        if reducer is None:
            return NotImplemented
        return reducer(obj)

    dropped_functions: set[str] = set()

    @classmethod
    def _reduce_function(cls, obj: Any) -> Any:
        """Module-level functions pickle by name; a lambda or closure cannot: it becomes None
        (named in ``dropped_functions`` so the log can say what was lost)."""
        target = obj.func if isinstance(obj, functools.partial) else getattr(obj, "__func__", obj)
        if not _local(target):
            return NotImplemented
        cls.dropped_functions.add(f"{getattr(target, '__module__', '?')}.{target.__qualname__}")
        return _none, ()

    @classmethod
    def _reducer_for(cls, kind: type) -> Callable[[Any], Any] | None:
        if kind in _LOCK_TYPES:
            factory = _LOCK_TYPES[kind]
            return lambda _obj: (factory, ())
        if not isinstance(kind, type) or kind in (type, dict, list, tuple, str, bytes, int, float, set):
            return None
        if cls._dropped is None:
            cls._dropped = _DROPPED_TYPES + _botocore_types()
        if kind.__module__.startswith("cryptography"):
            return _reduce_crypto
        if issubclass(kind, tempfile.SpooledTemporaryFile):
            return _reduce_spooled
        if issubclass(kind, queue.Queue):
            return _reduce_queue
        if issubclass(kind, collections.defaultdict):
            return _reduce_defaultdict
        if kind in (types.FunctionType, types.MethodType, functools.partial):
            return cls._reduce_function
        if issubclass(kind, (weakref.WeakValueDictionary, weakref.WeakKeyDictionary)):
            return lambda obj: (kind, (dict(obj.items()),))
        if issubclass(kind, weakref.WeakSet):
            return lambda obj: (kind, (list(obj),))
        if issubclass(kind, _FRESH_TYPES):
            return lambda _obj: (kind, ())
        if issubclass(kind, cls._dropped):
            return lambda _obj: (_none, ())
        return None


# --- which backends ----------------------------------------------------------------------------
def _backend_dict_type() -> type:
    from moto.core.base_backend import BackendDict

    return BackendDict


def loaded_backends() -> dict[str, Any]:
    """``{"<module>:<attribute>": BackendDict}`` for every moto backend that holds state.

    moto registers a BackendDict in ``BackendDict._instances`` once an account was created in it
    (i.e. once a request reached that service); its name is found by scanning the loaded moto
    modules for the object.
    """
    backend_dict = _backend_dict_type()
    wanted = {id(b): b for b in list(backend_dict._instances) if len(b)}
    found: dict[str, Any] = {}
    for module_name, module in list(sys.modules.items()):
        if not wanted or not module_name.startswith("moto.") or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if id(value) in wanted and isinstance(value, backend_dict):
                found[f"{module_name}:{attribute}"] = value
                del wanted[id(value)]
    if wanted:
        log.warning("%d moto backend(s) not found by name; they are not saved: %s", len(wanted),
                    [b.service_name for b in wanted.values()])
    return found


def dumps(backends: dict[str, Any] | None = None) -> bytes:
    """One pickle of every loaded backend (shared references between services stay shared)."""
    payload = {"format": FORMAT_VERSION, "saved_at": time.time(),
               "backends": {name: dict(bd) for name, bd in (backends or loaded_backends()).items()}}
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
    return buffer.getvalue()


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def restore(state_dir: Path) -> list[str]:
    """Load the snapshot into moto's module-level BackendDicts; return the restored names.

    Call after the emulator adaptations are installed and before the emulator serves. A
    snapshot that cannot be read raises (the caller decides: the server refuses to start
    rather than silently forget every deployment).
    """
    import importlib

    path = snapshot_path(state_dir)
    with open(path, "rb") as handle:
        payload = pickle.load(handle)  # noqa: S301 - our own file, in our own state directory
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a HiveMind emulator snapshot of format {FORMAT_VERSION}")
    backend_dict = _backend_dict_type()
    restored = []
    for name, accounts in payload["backends"].items():
        module_name, attribute = name.split(":", 1)
        live = getattr(importlib.import_module(module_name), attribute)
        dict.clear(live)
        for account_id, account_backend in accounts.items():
            dict.__setitem__(live, account_id, account_backend)
        if live not in backend_dict._instances:
            backend_dict._instances.append(live)
        restored.append(name)
    return restored


def iter_backends(name_suffix: str) -> Iterable[Any]:
    """Every region backend of the loaded BackendDicts whose attribute is ``name_suffix``."""
    for name, bd in loaded_backends().items():
        if name.endswith(":" + name_suffix):
            for account in list(dict.values(bd)):
                yield from list(dict.values(account))


# --- requests and the background writer --------------------------------------------------------
class RequestCounter:
    """WSGI middleware counting requests, so the snapshotter only dumps after something changed."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.count += 1
        try:
            return self.app(environ, start_response)
        finally:
            self.count += 1  # also after the request: a mutation ends with the response


class Snapshotter:
    """Dumps the emulator in a background thread when requests arrived since the last dump."""

    def __init__(self, state_dir: Path, counter: RequestCounter, interval: float = DEFAULT_INTERVAL_S) -> None:
        self.path = snapshot_path(state_dir)
        self.counter = counter
        self.interval = interval
        self.saved_count = -1
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="emulator-snapshot", daemon=True)
        self.dumps = 0
        self.failures = 0
        self.last_bytes = 0
        self.last_seconds = 0.0
        self.last_error = ""
        self.reported: set[str] = set()

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while not self.stop_event.wait(self.interval):
            if self.counter.count != self.saved_count:
                self.save()

    def save(self) -> bool:
        """One dump; True when written. A failure keeps the last good snapshot."""
        with self.lock:
            seen = self.counter.count
            started = time.monotonic()
            try:
                data = dumps()
            except RuntimeError as exc:  # a request mutated a dict while we walked it
                self.failures += 1
                log.debug("snapshot raced a request (%s); retried on the next tick", exc)
                return False
            except Exception as exc:  # noqa: BLE001 - keep serving; the log names what did not pickle
                self.failures += 1
                if repr(exc) != self.last_error:  # once per kind of failure, not every tick
                    self.last_error = repr(exc)
                    log.exception("emulator snapshot failed; the last good one (%s) is kept", self.path)
                return False
            write_atomically(self.path, data)
            if _Pickler.dropped_functions - self.reported:
                log.warning("not saved (they cannot be pickled; None after a restore): %s",
                            sorted(_Pickler.dropped_functions - self.reported))
                self.reported |= _Pickler.dropped_functions
            self.saved_count = seen
            self.dumps += 1
            self.last_bytes = len(data)
            self.last_seconds = time.monotonic() - started
            return True

    def stop(self, *, final: bool = True) -> None:
        """Stop the thread; with ``final`` write one last snapshot (retried a few times)."""
        self.stop_event.set()
        self.thread.join(timeout=10)
        if final:
            for _ in range(5):
                if self.save():
                    break
                time.sleep(0.05)
        log.info("emulator snapshots: %d written (last %.1f KiB in %.0f ms), %d retried", self.dumps,
                 self.last_bytes / 1024, self.last_seconds * 1000, self.failures)


def remove(state_dir: Path) -> None:
    """Forget the saved emulator state (``local down --purge``)."""
    directory = state_dir / SNAPSHOT_DIR
    for path in (directory / SNAPSHOT_FILE, directory / (SNAPSHOT_FILE + ".tmp")):
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        directory.rmdir()

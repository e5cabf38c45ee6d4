"""Seed and dump the store as EJSON fixtures (one ``<collection>.json`` per collection).

Why EJSON files in Rocket.Chat's own shapes: the same files seed ``make serve``, the tests and
the replays, and a dump of a running server can be read back (or diffed) without a database
tool. Dates are ``{"$date": ms}``, binary ``{"$binary": b64}`` and Mongo ObjectIds
``{"$type": "oid", "$value": hex}``, as Meteor's EJSON writes them.

A user in a fixture may carry ``"password": "<plaintext>"``; loading replaces it with
``services.password.bcrypt`` exactly as Meteor's accounts-password would have stored it, so no
hash needs to be committed. Dumps leave secrets out unless asked: ``services`` (password hashes,
resume tokens, 2FA secrets) is removed and ``e2e.private_key`` is replaced by ``"<redacted>"``.
A user's encrypted private key must reach no one but its owner, not even through a dump.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from bson import ObjectId

from ..ddp.ejson import CustomType, EJSONError, from_ejson, to_ejson
from ..services.passwords import DEFAULT_ROUNDS, hash_password_async
from .core import Store

log = logging.getLogger(__name__)

__all__ = ["REDACTED", "FixtureError", "dump_fixtures", "load_fixtures", "save_fixtures"]

REDACTED = "<redacted>"
USERS = "users"


class FixtureError(ValueError):
    """A fixture file cannot be loaded; the message names the file and the reason."""

    def __init__(self, file: str | Path, reason: str) -> None:
        self.file = str(file)
        self.reason = reason
        super().__init__(f"{self.file}: {reason}")


# --------------------------------------------------------------------------- EJSON <-> store


def _to_store(value: Any) -> Any:
    """EJSON-decoded value -> what the store holds (``oid`` custom types become ObjectIds)."""
    if isinstance(value, dict):
        return {k: _to_store(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_store(v) for v in value]
    if isinstance(value, CustomType) and value.type == "oid":
        return ObjectId(value.value)
    return value


def _from_store(value: Any) -> Any:
    """Stored value -> something :func:`to_ejson` accepts (ObjectIds become ``oid`` types)."""
    if isinstance(value, dict):
        return {k: _from_store(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_from_store(v) for v in value]
    if isinstance(value, ObjectId):
        return CustomType("oid", str(value))
    return value


# --------------------------------------------------------------------------- loading


def _valid_collection_name(name: str) -> bool:
    return bool(name) and "$" not in name and "\0" not in name and not name.startswith("system.")


def _parse(file: Path) -> Any:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise FixtureError(file, f"cannot read: {exc.strerror or exc}") from exc
    try:
        return from_ejson(orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        raise FixtureError(file, f"invalid JSON: {exc}") from exc
    except EJSONError as exc:
        raise FixtureError(file, f"invalid EJSON: {exc}") from exc


def _check_docs(file: Path, collection: str, docs: Any) -> list[dict[str, Any]]:
    if not _valid_collection_name(collection):
        raise FixtureError(file, f"bad collection name {collection!r}")
    if not isinstance(docs, list):
        raise FixtureError(file, f"{collection}: expected a list of documents, got {type(docs).__name__}")
    seen: set[Any] = set()
    out: list[dict[str, Any]] = []
    for i, doc in enumerate(docs):
        where = f"{collection}[{i}]"
        if not isinstance(doc, dict):
            raise FixtureError(file, f"{where}: expected an object, got {type(doc).__name__}")
        _id = doc.get("_id")
        if isinstance(_id, CustomType) and _id.type == "oid":
            key: Any = ("oid", _id.value)
        elif isinstance(_id, str) and _id:
            key = _id
        else:
            raise FixtureError(file, f"{where}: _id must be a non-empty string or an oid")
        if key in seen:
            raise FixtureError(file, f"{where}: duplicate _id {_id!r}")
        seen.add(key)
        if any(not isinstance(k, str) or k.startswith("$") for k in doc):
            raise FixtureError(file, f"{where}: top-level keys must be strings not starting with '$'")
        if collection == USERS and "password" in doc:
            password = doc["password"]
            if not isinstance(password, str) or not password:
                raise FixtureError(file, f"{where}: password must be a non-empty string")
            services = doc.get("services")
            if services is not None and not isinstance(services, dict):
                raise FixtureError(file, f"{where}: services must be an object")
            if isinstance(services, dict) and "password" in services:
                raise FixtureError(file, f"{where}: both password and services.password are given")
        out.append(_to_store(doc))
    return out


def _read_fixtures(path: Path) -> list[tuple[Path, str, list[dict[str, Any]]]]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        if not files:
            raise FixtureError(path, "no .json fixture files in this directory")
        return [(f, f.stem, _check_docs(f, f.stem, _parse(f))) for f in files]
    if not path.exists():
        raise FixtureError(path, "no such file or directory")
    data = _parse(path)
    if not isinstance(data, dict):
        raise FixtureError(path, "expected an object {collection: [documents]}")
    return [(path, name, _check_docs(path, name, docs)) for name, docs in data.items()]


async def _hash_passwords(docs: list[dict[str, Any]], rounds: int) -> None:
    """Swap each plaintext ``password`` for ``services.password.bcrypt`` (hashed concurrently)."""
    todo = [d for d in docs if "password" in d]
    hashes = await asyncio.gather(
        *(hash_password_async(d["password"], is_digest=False, rounds=rounds) for d in todo)
    )
    for doc, hashed in zip(todo, hashes, strict=True):
        del doc["password"]
        services = doc.setdefault("services", {})
        services["password"] = {"bcrypt": hashed}


async def load_fixtures(
    store: Store, path: str | Path, *, bcrypt_rounds: int = DEFAULT_ROUNDS
) -> dict[str, int]:
    """Load ``path`` (a directory of ``<collection>.json`` or one ``{collection: [docs]}`` file).

    Every file is parsed and validated before anything is written, so a malformed fixture
    (raising :class:`FixtureError`) leaves the store untouched. Documents are upserted by
    ``_id``: loading the same fixtures again (a restart on a persistent MongoDB) is harmless.
    Returns the number of documents per collection.
    """
    path = Path(path)
    batches = _read_fixtures(path)
    for _file, name, docs in batches:
        if name == USERS:
            await _hash_passwords(docs, bcrypt_rounds)
    counts: dict[str, int] = {}
    for file, name, docs in batches:
        coll = store.collection(name)
        for doc in docs:
            try:
                await coll.replace_one({"_id": doc["_id"]}, doc, upsert=True)
            except Exception as exc:  # a unique index refusing the document, mostly
                raise FixtureError(file, f"{name} {doc['_id']!r}: {type(exc).__name__}: {exc}") from exc
        counts[name] = counts.get(name, 0) + len(docs)
    log.info("fixtures loaded", extra={"fixture_path": str(path), "counts": counts})
    return counts


# --------------------------------------------------------------------------- dumping


def redact_user(user: Mapping[str, Any]) -> dict[str, Any]:
    """A user document fit for anyone but its owner: no ``services``, no private key."""
    out = {k: v for k, v in user.items() if k not in ("services", "password")}
    e2e = out.get("e2e")
    if isinstance(e2e, Mapping) and "private_key" in e2e:
        out["e2e"] = {**e2e, "private_key": REDACTED}
    return out


async def dump_fixtures(store: Store, *, include_secrets: bool = False) -> dict[str, list[Any]]:
    """Every collection of the store as EJSON-ready (plain JSON) documents, in natural order.

    Without ``include_secrets`` users lose ``services`` and ``e2e.private_key`` is redacted.
    The result can be written with any JSON encoder and read back by :func:`load_fixtures`.
    """
    names = sorted(await store.db.list_collection_names())
    out: dict[str, list[Any]] = {}
    for name in names:
        if name.startswith("system."):
            continue
        docs = []
        async for doc in store.collection(name).find({}):
            if name == USERS and not include_secrets:
                doc = redact_user(doc)
            docs.append(to_ejson(_from_store(doc)))
        out[name] = docs
    return out


async def save_fixtures(
    store: Store, directory: str | Path, *, include_secrets: bool = False
) -> dict[str, int]:
    """Write :func:`dump_fixtures` as ``<directory>/<collection>.json`` files; returns counts."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    dumped = await dump_fixtures(store, include_secrets=include_secrets)
    for name, docs in dumped.items():
        text = orjson.dumps(docs, option=orjson.OPT_INDENT_2) + b"\n"
        (directory / f"{name}.json").write_bytes(text)
    return {name: len(docs) for name, docs in dumped.items()}

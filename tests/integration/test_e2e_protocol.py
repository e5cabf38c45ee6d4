"""protocol/e2e/*.json and docs/E2EE-API.md cannot drift from the shapes the server enforces."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ddp_e2e import protocol_export as pe
from ddp_e2e.app import build_app
from ddp_e2e.config import Settings
from ddp_e2e.ddp.errors import MatchError
from ddp_e2e.methods.e2e import METHOD_DOCS
from ddp_e2e.server.routes.e2e import ROUTE_DOCS
from ddp_e2e.services.e2e import ERRORS


def test_checked_in_protocol_and_docs_match_the_code() -> None:
    assert pe.drift() == [], "run: python -m ddp_e2e.protocol_export"


def test_the_drift_check_catches_a_changed_missing_or_stale_file(tmp_path: Path) -> None:
    proto, docs = tmp_path / "e2e", tmp_path / "E2EE-API.md"
    shutil.copytree(pe.PROTOCOL_DIR, proto)
    shutil.copy(pe.DOCS_FILE, docs)
    assert pe.drift(proto, docs) == []
    target = proto / "ddp.e2e.setRoomKeyID.json"
    doc = json.loads(target.read_text())
    doc["params"]["prefixItems"][1]["maxLength"] = 9999
    target.write_text(json.dumps(doc))
    (proto / "rest.GET.e2e.fetchMyKeys.json").unlink()
    (proto / "ddp.e2e.removed.json").write_text("{}")
    docs.write_text(docs.read_text().replace("e2e.setRoomKeyID(rid, keyID)", "e2e.setRoomKeyID(rid)"))
    assert sorted(Path(p).name for p in pe.drift(proto, docs)) == [
        "E2EE-API.md", "ddp.e2e.removed.json", "ddp.e2e.setRoomKeyID.json", "rest.GET.e2e.fetchMyKeys.json"]
    assert pe.main(["--check", "--protocol-dir", str(proto), "--docs", str(docs)]) == 1
    assert pe.main(["--protocol-dir", str(proto), "--docs", str(docs)]) == 0
    assert pe.drift(proto, docs) == []


def test_every_e2ee_method_and_route_of_the_running_app_is_exported() -> None:
    app = build_app(Settings(), store=None)  # type: ignore[arg-type]
    docs = pe.collect()
    for name in METHOD_DOCS:
        assert name in app.registry.methods, name
        assert f"ddp.{name}.json" in docs
    for verb, name in ROUTE_DOCS:
        assert (verb, name) in app.rest.routes, name  # type: ignore[attr-defined]
        assert f"rest.{verb}.{name}.json" in docs
    e2e_names = {n for n in app.registry.methods if n.startswith("e2e.")}
    assert e2e_names <= set(METHOD_DOCS), e2e_names - set(METHOD_DOCS)
    e2e_routes = {k for k in app.rest.routes if k[1].startswith("e2e.")}  # type: ignore[attr-defined]
    assert e2e_routes <= set(ROUTE_DOCS)


def test_exported_param_schemas_are_the_enforced_ones() -> None:
    """The schema's string bounds and required keys agree with what the checker accepts."""
    app = build_app(Settings(), store=None)  # type: ignore[arg-type]
    doc = pe.collect()["ddp.e2e.setRoomKeyID.json"]
    rid, key_id = doc["params"]["prefixItems"]
    params = app.registry.methods["e2e.setRoomKeyID"].params
    params.check(["r" * rid["maxLength"], "k" * key_id["maxLength"]])
    for bad in (["r" * (rid["maxLength"] + 1), "k"], ["r", ""], ["r", {"$ne": None}], ["r"]):
        try:
            params.check(bad)
        except MatchError:
            continue
        raise AssertionError(f"{bad!r} passed the check the schema forbids")
    body = pe.collect()["rest.POST.e2e.resetRoomKey.json"]["body"]
    assert body["required"] == ["rid", "e2eKey", "e2eKeyId"] and body["additionalProperties"] is False
    route = app.rest.routes[("POST", "e2e.resetRoomKey")]  # type: ignore[attr-defined]
    try:
        route.body.check({"rid": "r", "e2eKey": "k"}, "body")
    except MatchError:
        pass
    else:
        raise AssertionError("a body without a required key passed")


def test_every_documented_error_code_has_rocket_chat_s_reason() -> None:
    for name, meta in METHOD_DOCS.items():
        for code in meta["errors"]:
            assert code in ERRORS, (name, code)
    docs = pe.collect()
    for doc in docs.values():
        for err in doc.get("errors", []):
            if "reason" in err and err["error"] != 400:
                assert err["reason"] == ERRORS[err["error"]]


def test_the_reference_lists_every_method_and_route() -> None:
    text = pe.DOCS_FILE.read_text(encoding="utf-8")
    for name, meta in METHOD_DOCS.items():
        assert f"#### `{name}(" in text, name
        assert name in text and all(p in text for p in meta["params"])
    for verb, name in ROUTE_DOCS:
        assert f"#### `{verb} /api/v1/{name}`" in text, name


def test_readme_e2ee_section_is_the_generated_reference() -> None:
    """README's E2EE API section cannot drift either: it is docs/E2EE-API.md between markers."""
    readme = pe.README_FILE.read_text(encoding="utf-8")
    section = readme.split(pe.README_BEGIN, 1)[1].split(pe.README_END, 1)[0]
    assert section.strip() == pe.DOCS_FILE.read_text(encoding="utf-8").strip()
    edited = readme.replace(section, section.replace("e2e.setRoomKeyID", "e2e.setRoomKey"))
    assert pe.embed_in_readme(edited, pe.DOCS_FILE.read_text(encoding="utf-8")) == readme

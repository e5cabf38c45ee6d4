"""Export the E2EE API as data: protocol/e2e/*.json and the reference part of docs/E2EE-API.md.

Why generated: the param shapes the server enforces (ddp_e2e/services/e2e_shapes.py, the
registered methods and routes) are the source of truth; the JSON Schemas and the human reference
are derived from them, and a test fails when the checked-in files drift from the code.

    python -m ddp_e2e.protocol_export            # rewrite protocol/e2e/ and the docs block
    python -m ddp_e2e.protocol_export --check    # exit 1 and list the drifted files
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .app import App
from .config import Settings
from .methods import e2e as e2e_methods
from .server.rest import RestRouter
from .server.routes import e2e as e2e_routes
from .services.e2e import ERRORS

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL_DIR = ROOT / "protocol" / "e2e"
DOCS_FILE = ROOT / "docs" / "E2EE-API.md"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
BEGIN = "<!-- BEGIN GENERATED: python -m ddp_e2e.protocol_export -->"
END = "<!-- END GENERATED -->"
MATCH_FAILED = {"error": 400, "reason": "Match failed"}
COMMON_REST_ERRORS = [
    {"status": 401, "body": {"status": "error", "message": "You must be logged in to do this."}},
    {"status": 400, "errorType": "invalid-params", "error": "Match error: <path> [invalid-params]"},
]


def _registered() -> tuple[App, set[str]]:
    """An App holding only the E2EE methods and routes (registration needs no store)."""
    app = App(Settings(), store=None)  # type: ignore[arg-type]
    app.rest = RestRouter()  # type: ignore[attr-defined]
    e2e_methods.register(app)
    e2e_routes.register(app)
    return app, set(app.registry.methods)


def collect() -> dict[str, dict[str, Any]]:
    """File name -> document, for every E2EE method and route; raises if one is undocumented."""
    app, methods = _registered()
    undocumented = methods - set(e2e_methods.METHOD_DOCS)
    routes = set(app.rest.routes)  # type: ignore[attr-defined]
    undocumented |= {f"{v} {n}" for v, n in routes - set(e2e_routes.ROUTE_DOCS)}
    if undocumented:
        raise RuntimeError(f"E2EE entries without docs: {sorted(undocumented)}")
    out: dict[str, dict[str, Any]] = {}
    for name, meta in e2e_methods.METHOD_DOCS.items():
        spec = app.registry.methods[name]
        params = spec.params.schema()
        for item, title in zip(params["prefixItems"], meta["params"], strict=True):
            item["title"] = title
        out[f"ddp.{name}.json"] = {
            "schemaDialect": DIALECT,
            "kind": "ddp-method",
            "name": name,
            "api": meta["api"],
            "summary": spec.summary,
            "params": params,
            "result": spec.result_schema,
            "errors": [{"error": c, "reason": ERRORS[c]} for c in meta["errors"]] + [MATCH_FAILED],
        }
    for (verb, name), meta in e2e_routes.ROUTE_DOCS.items():
        route = app.rest.routes[(verb, name)]  # type: ignore[attr-defined]
        out[f"rest.{verb}.{name}.json"] = {
            "schemaDialect": DIALECT,
            "kind": "rest-route",
            "method": verb,
            "path": f"/api/v1/{name}",
            "api": meta["api"],
            "summary": route.summary,
            "query": route.query.schema() if route.query is not None else None,
            "body": route.body.schema() if route.body is not None else None,
            "result": meta["result"],
            "errors": list(meta["errors"]) + COMMON_REST_ERRORS,
        }
    out["index.json"] = {"methods": list(e2e_methods.METHOD_DOCS),
                         "routes": [f"{v} /api/v1/{n}" for v, n in e2e_routes.ROUTE_DOCS]}
    return out


def dumps(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------ markdown reference


def describe(schema: dict[str, Any] | None) -> str:
    """A JSON Schema as one short line of text (enough for a reference table)."""
    if schema is None:
        return "—"
    if "anyOf" in schema:
        return " | ".join(dict.fromkeys(describe(s) for s in schema["anyOf"]))
    if "const" in schema:
        return json.dumps(schema["const"])
    kind = schema.get("type")
    text = ""
    if kind == "string":
        lo, hi = schema.get("minLength"), schema.get("maxLength")
        bounds = f"{lo or 0}..{hi}" if hi else (f"{lo}.." if lo else "")
        text = "string" + (f"({bounds})" if bounds else "")
        if schema.get("format"):
            text += f" {schema['format']}"
    elif kind == "array":
        text = f"[{describe(schema.get('items'))}]"
        if "maxItems" in schema:
            text += f" (≤{schema['maxItems']})"
    elif kind == "object" and "properties" in schema:
        required = set(schema.get("required", []))
        fields = [f"{k}{'' if k in required else '?'}: {describe(v)}" for k, v in schema["properties"].items()]
        text = "{" + ", ".join(fields) + "}" if fields else "{}"
    elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        text = "{<id>: " + describe(schema["additionalProperties"]) + "}"
    elif kind:
        text = str(kind)
    else:
        text = "any"
    if schema.get("description") and kind not in ("string",):
        text += f" — {schema['description']}"
    return text


def _method_section(doc: dict[str, Any]) -> list[str]:
    items = doc["params"]["prefixItems"]
    names = ", ".join(i["title"] for i in items)
    lines = [f"#### `{doc['name']}({names})`", "", doc["summary"], ""]
    for i, item in enumerate(items):
        optional = i >= doc["params"]["minItems"]
        lines.append(f"- param `{item['title']}`{' (optional)' if optional else ''}: {describe(item)}")
    result = doc["result"]
    lines.append(f"- result: {describe(result) if result is not None else 'none (no `result` key)'}")
    errors = ", ".join(f"`{e['error']}` \"{e['reason']}\"" for e in doc["errors"])
    lines += [f"- errors: {errors}", ""]
    return lines


def _route_section(doc: dict[str, Any]) -> list[str]:
    lines = [f"#### `{doc['method']} {doc['path']}`", "", doc["summary"], ""]
    if doc["query"] is not None:
        lines.append(f"- query: {describe(doc['query'])}")
    if doc["body"] is not None:
        lines.append(f"- body: {describe(doc['body'])}")
    lines.append(f"- result: {describe(doc['result'])}")
    errs = []
    for e in doc["errors"]:
        if "body" in e:
            errs.append(f"{e['status']} (no credentials)")
        elif "errorType" in e:
            errs.append(f"{e['status']} `{e['errorType']}` \"{e['error']}\"")
        else:
            errs.append(f"{e['status']} `{{\"success\":false,\"error\":\"{e['error']}\"}}`")
    lines += [f"- errors: {'; '.join(errs)}", ""]
    return lines


def reference(docs: dict[str, dict[str, Any]]) -> str:
    """The generated part of docs/E2EE-API.md: every method and route with params, result, errors."""
    methods = [d for d in docs.values() if d.get("kind") == "ddp-method"]
    routes = [d for d in docs.values() if d.get("kind") == "rest-route"]
    lines = [BEGIN, ""]
    for api, title in (("current", "Rocket.Chat's current API"), ("founding", "The founding API")):
        lines += [f"### DDP methods: {title}", ""]
        for doc in methods:
            if doc["api"] == api:
                lines += _method_section(doc)
    for api, title in (("current", "Rocket.Chat's current API"), ("founding", "The founding API"),
                       ("both", "Shared by both APIs")):
        lines += [f"### REST routes: {title}", ""]
        for doc in routes:
            if doc["api"] == api:
                lines += _route_section(doc)
    lines.append(END)
    return "\n".join(lines) + "\n"


def render_docs(current: str, docs: dict[str, dict[str, Any]]) -> str:
    """``current`` with its generated block replaced (appended when the markers are missing)."""
    block = reference(docs)
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        return head + block + ("\n" + tail if tail else "")
    return current.rstrip("\n") + "\n\n" + block


# ------------------------------------------------------------------ write / check


README_FILE = ROOT / "README.md"
README_BEGIN = "<!-- BEGIN docs/E2EE-API.md (generated: python -m ddp_e2e.protocol_export) -->"
README_END = "<!-- END docs/E2EE-API.md -->"


def embed_in_readme(readme: str, section: str) -> str:
    """README's "E2EE API" section is docs/E2EE-API.md verbatim, between two markers."""
    if README_BEGIN not in readme or README_END not in readme:
        raise ValueError(f"README.md lacks the markers {README_BEGIN!r} ... {README_END!r}")
    head, rest = readme.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    return f"{head}{README_BEGIN}\n{section.rstrip()}\n{README_END}{tail}"


def expected_files(protocol_dir: Path = PROTOCOL_DIR, docs_file: Path = DOCS_FILE) -> dict[Path, str]:
    docs = collect()
    files = {protocol_dir / name: dumps(doc) for name, doc in docs.items()}
    current = docs_file.read_text(encoding="utf-8") if docs_file.exists() else ""
    files[docs_file] = render_docs(current, docs)
    if docs_file == DOCS_FILE and README_FILE.exists():
        files[README_FILE] = embed_in_readme(README_FILE.read_text(encoding="utf-8"), files[docs_file])
    return files


def drift(protocol_dir: Path = PROTOCOL_DIR, docs_file: Path = DOCS_FILE) -> list[str]:
    """Files that differ from what the code generates (missing, changed, or stale extras)."""
    files = expected_files(protocol_dir, docs_file)
    out = [str(p) for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    if protocol_dir.exists():
        out += [str(p) for p in sorted(protocol_dir.glob("*.json")) if p not in files]
    return out


def write(protocol_dir: Path = PROTOCOL_DIR, docs_file: Path = DOCS_FILE) -> int:
    files = expected_files(protocol_dir, docs_file)
    protocol_dir.mkdir(parents=True, exist_ok=True)
    for stale in protocol_dir.glob("*.json"):
        if stale not in files:
            stale.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ddp_e2e.protocol_export", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="report drift instead of writing")
    parser.add_argument("--protocol-dir", type=Path, default=PROTOCOL_DIR)
    parser.add_argument("--docs", type=Path, default=DOCS_FILE)
    args = parser.parse_args(argv)
    if args.check:
        changed = drift(args.protocol_dir, args.docs)
        for path in changed:
            print(f"drifted: {path}")
        return 1 if changed else 0
    print(f"wrote {write(args.protocol_dir, args.docs)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Static check of the API description's examples; lint.sh runs it (stdlib, PyYAML, jsonschema).

Usage: check_openapi.py [infra/openapi.yaml]

Fails (exit 1), naming the operation (or component) and the example, when
- an example (a media type's `example` or `examples`, a parameter's or header's, a schema's own
  `example`) does not validate against the schema of the place it sits in: `$ref`s resolved,
  OpenAPI 3.0's `nullable: true` adding "null" to the `type` beside it, formats checked;
- an operation that takes a JSON body has no request body example;
- a documented response with a body has no example, neither inline nor on the component
  response it `$ref`s;
- an error response (the `Error` schema narrowed to a `code` enum) lacks an example of one of its
  codes, or a code of any such enum has no example anywhere in the file.
"""

import copy
import datetime
import re
import sys
import urllib.parse

try:
    import jsonschema
    import referencing
    import referencing.jsonschema
    import yaml
except ImportError as e:
    sys.exit(f"check_openapi.py: the Python module {e.name} is missing: run 'infra/local/install.sh lint'")

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
BASE_URI = "https://openapi.invalid/openapi.yaml"  # the spec's id in the schema registry
ERROR_SCHEMA = "#/components/schemas/Error"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")

path = sys.argv[1] if len(sys.argv) > 1 else "infra/openapi.yaml"
with open(path) as f:
    spec = yaml.safe_load(f)

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def pointer(*parts):
    """A JSON pointer (with its leading "#") to the given keys."""
    return "#" + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def lookup(ref):
    """The node a local `$ref` names."""
    if not ref.startswith("#/"):
        sys.exit(f"check_openapi.py: only local $refs are supported: {ref}")
    node = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def resolve(node):
    """The node, `$ref`s followed, and the pointer of the last one (None if there was none)."""
    at = None
    while isinstance(node, dict) and "$ref" in node:
        at = node["$ref"]
        node = lookup(at)
    return node, at


# The schemas are validated as JSON Schema draft 4, which OpenAPI 3.0's Schema Object extends.
# `nullable: true` adds "null" to the `type` beside it (OpenAPI 3.0.3); the document keeps its
# structure, so a schema's pointer is the same in both.
def with_nullable(node):
    if isinstance(node, list):
        return [with_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: with_nullable(v) for k, v in node.items()}
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


registry = referencing.Registry().with_resource(
    BASE_URI, referencing.jsonschema.DRAFT4.create_resource(with_nullable(copy.deepcopy(spec)))
)
formats = jsonschema.FormatChecker()  # ipv4, ipv6 and the others it checks without extras


@formats.checks("date-time", raises=ValueError)
def is_date_time(value):
    if not isinstance(value, str):
        return True
    if not RFC3339.fullmatch(value):
        return False
    datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # a real date and time
    return True


@formats.checks("uri")
def is_uri(value):
    return not isinstance(value, str) or bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:\S+", value))


validators = {}


def validate(value, schema_at, where, name):
    """Checks one example against the schema at the pointer `schema_at`."""
    if schema_at not in validators:
        ref = BASE_URI + "#" + urllib.parse.quote(schema_at[1:], safe="/~")
        validators[schema_at] = jsonschema.Draft4Validator(
            {"$ref": ref}, registry=registry, format_checker=formats
        )
    for error in sorted(validators[schema_at].iter_errors(value), key=lambda e: list(e.path)):
        why = f"{at_text(error)}: {error.message}"
        if error.context:  # oneOf/anyOf: why each alternative refused it
            branches = {}
            for sub in error.context:
                branches.setdefault(sub.schema_path[0], sub)
            why += "".join(
                f"; alternative {i}: {at_text(sub)}: {sub.message}" for i, sub in sorted(branches.items())
            )
        problem(where, f"example {name!r} does not validate against its schema at {why}")


def at_text(error):
    return "/".join(str(p) for p in error.absolute_path) or "(the whole value)"


def examples_of(obj, where):
    """The examples on a media type, parameter or header: [(name, value)]."""
    found = []
    if "example" in obj and "examples" in obj:
        problem(where, "has both `example` and `examples`")
    if "example" in obj:
        found.append(("example", obj["example"]))
    for name, example in (obj.get("examples") or {}).items():
        example, _ = resolve(example)
        if "value" in example:
            found.append((name, example["value"]))
        else:
            problem(where, f"example {name!r} has no `value` (an externalValue is not checked)")
    return found


checked = set()  # the pointers of the objects whose examples were validated


def check_examples(obj, at, where):
    """Validates the examples of a media type, parameter or header against its `schema`."""
    found = examples_of(obj, where)
    if at not in checked:
        checked.add(at)
        if found and "schema" not in obj:
            problem(where, "has examples but no schema")
        for name, value in found if "schema" in obj else []:
            validate(value, at + "/schema", where, name)
    return found


def walk_schema(node, at):
    """Validates a schema's own `example` and those of its inline sub-schemas (a `$ref`'d one is
    walked where it is)."""
    if not isinstance(node, dict) or "$ref" in node:
        return
    if "example" in node and at not in checked:
        checked.add(at)
        validate(node["example"], at, at[2:], "example")
    for key in ("properties", "patternProperties"):
        for name, sub in (node.get(key) or {}).items():
            walk_schema(sub, at + pointer(key, name)[1:])
    for key in ("items", "additionalProperties", "not"):
        walk_schema(node.get(key), at + pointer(key)[1:])
    for key in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(node.get(key) or []):
            walk_schema(sub, at + pointer(key, i)[1:])


def error_codes(schema):
    """The codes an error response's schema allows: [] if it is no error schema, None if it is
    one without a `code` enum."""
    codes, is_error = [], False

    def walk(node):
        nonlocal is_error
        if not isinstance(node, dict):
            return
        if node.get("$ref") == ERROR_SCHEMA:
            is_error = True
        elif "$ref" in node:
            walk(lookup(node["$ref"]))
        for part in node.get("allOf", []):
            walk(part)
        code = node.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
        codes.extend(code.get("enum", []))

    walk(schema)
    if not is_error:
        return []
    return codes or None


def error_code(value):
    if isinstance(value, dict) and isinstance(value.get("error"), dict):
        return value["error"].get("code")
    return None


every_code = {}  # each code an error response allows -> the first response allowing it
responses_checked = set()  # the pointers of the component responses checked


def check_response(response, inline_at, where):
    """A response: its examples validate, it has one per media type and one per error code."""
    response, at = resolve(response)
    if at is not None:
        if at in responses_checked:
            return
        responses_checked.add(at)
        where = f"{at[2:]} (used by {where})"
    at = at or inline_at
    for name, header in (response.get("headers") or {}).items():
        header, header_at = resolve(header)
        header_at = header_at or at + pointer("headers", name)[1:]
        check_examples(header, header_at, f"{where} header {name}")
        walk_schema(header.get("schema"), header_at + "/schema")
    for media_type, media in (response.get("content") or {}).items():
        media_at = at + pointer("content", media_type)[1:]
        walk_schema(media.get("schema"), media_at + "/schema")
        found = check_examples(media, media_at, where)
        if not found:
            problem(where, f"has no example ({media_type})")
        codes = error_codes(media.get("schema", {}))
        if codes is None:
            problem(where, "is an error response whose schema names no `code` enum")
            continue
        given = {error_code(value) for _, value in found}
        for code in codes:
            every_code.setdefault(code, where)
            if code not in given:
                problem(where, f"has no example of error code {code!r}")


for route, item in (spec.get("paths") or {}).items():
    shared = item.get("parameters", [])
    for method in METHODS:
        if method not in item:
            continue
        op = item[method]
        op_at = pointer("paths", route, method)
        op_where = f"{op.get('operationId', '?')} ({method.upper()} {route})"
        params = [(p, pointer("paths", route, "parameters", i)) for i, p in enumerate(shared)]
        params += [(p, op_at + pointer("parameters", i)[1:]) for i, p in enumerate(op.get("parameters", []))]
        for param, inline_at in params:
            param, at = resolve(param)
            at = at or inline_at
            check_examples(param, at, f"{op_where} parameter {param.get('name')}")
            walk_schema(param.get("schema"), at + "/schema")
        if "requestBody" in op:
            body, body_at = resolve(op["requestBody"])
            body_at = body_at or op_at + "/requestBody"
            for media_type, media in (body.get("content") or {}).items():
                media_at = body_at + pointer("content", media_type)[1:]
                found = check_examples(media, media_at, f"{op_where} request body")
                mime = media_type.split(";")[0].strip().lower()
                if re.fullmatch(r"application/([a-z0-9.+-]+\+)?json", mime) and not found:
                    problem(f"{op_where} request body", f"has no example ({media_type})")
                walk_schema(media.get("schema"), media_at + "/schema")
        for status, response in (op.get("responses") or {}).items():
            check_response(response, op_at + pointer("responses", status)[1:], f"{op_where} response {status}")

# What no operation reached: the components' own examples, and responses no operation uses.
components = spec.get("components") or {}
for name, schema in (components.get("schemas") or {}).items():
    walk_schema(schema, pointer("components", "schemas", name))
for kind in ("parameters", "headers"):
    for name, obj in (components.get(kind) or {}).items():
        at = pointer("components", kind, name)
        check_examples(obj, at, at[2:])
        walk_schema(obj.get("schema"), at + "/schema")
for name in components.get("responses") or {}:
    check_response({"$ref": pointer("components", "responses", name)}, None, "no operation")


# Every code an error response allows has an example somewhere in the file.
def example_codes(node):
    if isinstance(node, list):
        for value in node:
            yield from example_codes(value)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "example":
                yield error_code(value)
            elif key == "examples" and isinstance(value, dict):
                for example in value.values():
                    example, _ = resolve(example)
                    yield error_code(example.get("value") if isinstance(example, dict) else None)
            else:
                yield from example_codes(value)


exemplified = set(example_codes(spec))
for code, where in sorted(every_code.items()):
    if code not in exemplified:
        problem(where, f"error code {code!r} has no example anywhere in {path}")

problems = list(dict.fromkeys(problems))
if problems:
    for line in problems:
        print(f"check_openapi: {line}", file=sys.stderr)
    sys.exit(f"check_openapi: {len(problems)} problem(s) in {path}")
operations = sum(1 for item in (spec.get("paths") or {}).values() for m in METHODS if m in item)
print(
    f"check_openapi: {path}: the examples of its {operations} operations validate; every JSON "
    "request body, documented response and error code has one",
    file=sys.stderr,
)

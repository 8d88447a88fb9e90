"""Schema validation of rendered manifests, as strict as the API server's field validation.

Built-in kinds are checked against kubernetes-validate's strict JSON schemas, once for every
requested Kubernetes version. Custom resources are checked against the `openAPIV3Schema` of the
CustomResourceDefinition that defines them, read from a directory of unmodified upstream CRD
files (`CRDS_DIR`). A kind that neither Kubernetes nor one of those CRDs defines is an error, so
a new kind (a PodMonitor, a backup CronJob's ...) is validated as soon as it is rendered, and a
custom resource whose CRD nobody provided cannot slip through as "unknown, skipped".

A CRD schema is turned into JSON Schema by the API server's structural-schema rules:

- an object that does not set `x-kubernetes-preserve-unknown-fields: true` keeps only the fields
  it lists (`kubectl apply` uses strict field validation, so an unlisted field is an error rather
  than silently pruned): `additionalProperties: false` unless the schema gives a map's value type;
- `x-kubernetes-int-or-string`: an integer or a string; `nullable`: null allowed;
- `x-kubernetes-embedded-resource`: `apiVersion`, `kind` and `metadata` are implied;
- `x-kubernetes-list-type: set` items are unique, `map` items are unique by their
  `x-kubernetes-list-map-keys`;
- defaults are applied first and nulls of non-nullable fields are pruned, as the API server does
  before it validates (a required field with a default may be omitted);
- the top-level `metadata` is a strict ObjectMeta; the CRD's `scope` decides whether the object
  must carry a namespace; only served, non-deprecated versions are accepted.

Not evaluated offline: `x-kubernetes-validations` (CEL rules) and string `format`s. The policy
tests check the rules we rely on instead.

Run as `python k8s/tests/schema.py --crds DIR -k 1.35 -k 1.36 FILE...`: one line per problem,
exit status 1 if there is any.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import yaml
from referencing import Registry, Resource

Manifest = dict[str, Any]

SCHEMA_ROOT = files("kubernetes_validate") / "kubernetes-json-schema"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# Keywords of OpenAPI/Kubernetes that JSON Schema does not know, or that say nothing to check.
DROPPED = {"description", "example", "externalDocs", "format", "title", "default", "nullable"}


class SchemaError(Exception):
    """The tool cannot validate at all (missing schemas or CRDs): one line, exit 2."""


# --- YAML -------------------------------------------------------------------------------------

def load_yaml(text: str) -> list[Manifest]:
    return [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d]


def describe(doc: Manifest) -> str:
    meta = doc.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{doc.get('kind')}/{(ns + '/') if ns else ''}{meta.get('name')}"


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


# --- built-in kinds: kubernetes-validate's strict schemas --------------------------------------

def schema_dir(version: str):
    path = SCHEMA_ROOT / f"v{version}.0-local-strict"
    if not path.is_dir():
        raise SchemaError(f"kubernetes-validate has no schemas for Kubernetes {version} (k8s/requirements.txt pins it)")
    return path


@cache
def definitions(version: str) -> Resource:
    return Resource.from_contents(json.loads((schema_dir(version) / "_definitions.json").read_text()))


@cache
def builtin_validator(version: str, kind: str, api_version: str) -> jsonschema.Draft202012Validator | None:
    """None when `kind` is not a Kubernetes `version` kind (then it must come from a CRD)."""
    group, ver = split_api_version(api_version)
    # kubernetes-validate's file names: <kind>-<first label of the group>-<version>.json
    stem = f"{kind.lower()}-{group.split('.')[0]}-{ver}" if group else f"{kind.lower()}-{ver}"
    path = schema_dir(version) / f"{stem}.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    gvk = schema.get("x-kubernetes-group-version-kind") or []
    if not any(g.get("group", "") == group and g.get("version") == ver and g.get("kind") == kind for g in gvk):
        return None  # a file for a sub-schema (e.g. `affinity-v1`), not a kind
    registry = definitions(version) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


# --- custom resources: CRD openAPIV3Schema --------------------------------------------------

@dataclass
class Crd:
    name: str
    group: str
    kind: str
    scope: str
    versions: dict[str, Manifest]
    source: str


@dataclass
class CrdIndex:
    crds: dict[tuple[str, str], Crd] = field(default_factory=dict)

    @classmethod
    def from_dir(cls, path: Path) -> "CrdIndex":
        if not path.is_dir():
            raise SchemaError(f"CRDS_DIR {path} is not a directory (set CRDS_DIR to the CRD schemas)")
        index = cls()
        for file in sorted(path.rglob("*.y*ml")):
            for doc in load_yaml(file.read_text()):
                if doc.get("kind") != "CustomResourceDefinition":
                    continue
                spec = doc["spec"]
                crd = Crd(
                    name=doc["metadata"]["name"], group=spec["group"], kind=spec["names"]["kind"],
                    scope=spec["scope"], versions={v["name"]: v for v in spec["versions"]},
                    source=str(file.relative_to(path)),
                )
                index.crds[(crd.group, crd.kind)] = crd
        if not index.crds:
            raise SchemaError(f"CRDS_DIR {path} holds no CustomResourceDefinition")
        return index

    def get(self, group: str, kind: str) -> Crd | None:
        return self.crds.get((group, kind))


def go_regex(pattern: str) -> str:
    """Go (RE2) and Python agree on the patterns CRDs use, except that RE2 allows inline flags
    after `^` (`^(?i)...`), which Python rejects: move them to the front."""
    m = re.match(r"^\^\(\?([a-zA-Z]+)\)", pattern)
    return f"(?{m.group(1)})^{pattern[m.end():]}" if m else pattern


def to_json_schema(node: Manifest, structural: bool = True) -> Manifest:
    """One node of a structural schema as JSON Schema (see the module docstring).

    `structural` is false inside allOf/anyOf/oneOf/not: those only add value constraints and
    never decide which fields exist, so they get no `additionalProperties`.
    """
    out: Manifest = {}
    for key, value in node.items():
        if key in DROPPED or key.startswith("x-kubernetes-"):
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub, structural) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = to_json_schema(value, structural)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(sub, False) for sub in value]
        elif key == "not":
            out[key] = to_json_schema(value, False)
        elif key == "pattern":
            out[key] = go_regex(value)
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
            # OpenAPI 3.0's boolean form modifies minimum/maximum; JSON Schema wants the bound.
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            if value and bound in node:
                out[key] = node[bound]
        else:
            out[key] = value
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        if node.get(key) is True:
            out.pop("minimum" if key == "exclusiveMinimum" else "maximum", None)
    if node.get("x-kubernetes-int-or-string") and "type" not in out:
        out["type"] = ["integer", "string"]
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [*([out["type"]] if isinstance(out["type"], str) else out["type"]), "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    elif node.get("x-kubernetes-list-type") == "map" and node.get("x-kubernetes-list-map-keys"):
        out["x-kubernetes-list-map-keys"] = node["x-kubernetes-list-map-keys"]
    is_object = node.get("type") == "object" or "properties" in node
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"$ref": f"#/$defs/{OBJECT_META}"})
    if structural and is_object and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def apply_defaults(value: Any, node: Manifest) -> None:
    """What the API server does before validating a custom resource: prune nulls of
    non-nullable fields without a default, fill in defaults of absent fields (recursively)."""
    if isinstance(value, dict):
        props = node.get("properties") or {}
        for name, sub in props.items():
            if name in value and value[name] is None and not sub.get("nullable"):
                del value[name]
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                apply_defaults(value[name], sub)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            for name in value:
                if name not in props:
                    apply_defaults(value[name], extra)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for item in value:
            apply_defaults(item, node["items"])


def _list_map_keys(validator, keys, instance, schema) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "array"):
        return
    seen: dict[str, int] = {}
    for i, item in enumerate(instance):
        if isinstance(item, dict):
            key = json.dumps([item.get(k) for k in keys])
            if key in seen:
                yield jsonschema.ValidationError(
                    f"items {seen[key]} and {i} have the same {'/'.join(keys)} {key} (x-kubernetes-list-type: map)"
                )
            seen.setdefault(key, i)


CrdValidatorClass = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"x-kubernetes-list-map-keys": _list_map_keys}
)


# --- the validator --------------------------------------------------------------------------

def where(error: jsonschema.ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(root)"


class Validator:
    def __init__(self, crds_dir: Path, versions: list[str]):
        if not versions:
            raise SchemaError("no Kubernetes version given")
        for v in versions:
            schema_dir(v)
        self.versions = versions
        self.crds = CrdIndex.from_dir(crds_dir)
        self._crd_validators: dict[tuple[str, str, str], Any] = {}

    def crd_validator(self, crd: Crd, version: str):
        key = (crd.group, crd.kind, version)
        if key not in self._crd_validators:
            root = copy.deepcopy(crd.versions[version]["schema"]["openAPIV3Schema"])
            schema = to_json_schema(root)
            props = schema.setdefault("properties", {})
            props["apiVersion"] = {"const": f"{crd.group}/{version}"}
            props["kind"] = {"const": crd.kind}
            props["metadata"] = {"$ref": f"#/$defs/{OBJECT_META}"}
            schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
            # ObjectMeta and what it refers to, from the newest Kubernetes schema.
            defs = definitions(self.versions[-1]).contents["$defs"]
            schema["$defs"] = defs
            self._crd_validators[key] = (root, CrdValidatorClass(schema))
        return self._crd_validators[key]

    def errors(self, doc: Manifest) -> list[str]:
        kind, api_version = doc.get("kind"), doc.get("apiVersion")
        if not isinstance(kind, str) or not isinstance(api_version, str):
            return ["no apiVersion/kind"]
        group, version = split_api_version(api_version)
        crd = self.crds.get(group, kind)
        if crd is not None:
            return self._crd_errors(doc, crd, version)
        problems, unknown = [], []
        for k8s in self.versions:
            validator = builtin_validator(k8s, kind, api_version)
            if validator is None:
                unknown.append(k8s)
                continue
            problems += [f"{where(e)}: {e.message} (Kubernetes {k8s})" for e in validator.iter_errors(doc)]
        if unknown:
            problems.append(f"{api_version} {kind} is neither a Kubernetes {', '.join(unknown)} kind "
                            "nor defined by a CRD in CRDS_DIR")
        return problems

    def _crd_errors(self, doc: Manifest, crd: Crd, version: str) -> list[str]:
        entry = crd.versions.get(version)
        if entry is None or not entry.get("served", False):
            served = sorted(v for v, e in crd.versions.items() if e.get("served"))
            return [f"{crd.name} ({crd.source}) does not serve {version}; served: {', '.join(served)}"]
        if entry.get("deprecated"):
            return [f"{crd.group}/{version} {crd.kind} is deprecated: {entry.get('deprecationWarning', 'use a newer version')}"]
        problems = []
        namespace = (doc.get("metadata") or {}).get("namespace")
        if crd.scope == "Namespaced" and not namespace:
            problems.append(f"{crd.kind} is namespaced but the object has no metadata.namespace")
        if crd.scope == "Cluster" and namespace:
            problems.append(f"{crd.kind} is cluster-scoped but the object has metadata.namespace {namespace}")
        root, validator = self.crd_validator(crd, version)
        defaulted = copy.deepcopy(doc)
        apply_defaults(defaulted, root)
        problems += [f"{where(e)}: {e.message} (CRD {crd.source})" for e in validator.iter_errors(defaulted)]
        return problems


def validate_files(validator: Validator, files: list[Path]) -> list[str]:
    out = []
    for file in files:
        for doc in load_yaml(file.read_text()):
            out += [f"{file}: {describe(doc)}: {problem}" for problem in validator.errors(doc)]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crds", type=Path, required=True, help="directory of CRD files (CRDS_DIR)")
    parser.add_argument("-k", "--kubernetes-version", action="append", dest="versions", default=[],
                        help="Kubernetes minor version, e.g. 1.36 (repeat for several)")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    try:
        validator = Validator(args.crds, args.versions)
        problems = validate_files(validator, args.files)
    except SchemaError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in problems:
        print(line)
    sys.stdout.flush()
    docs = sum(len(load_yaml(f.read_text())) for f in args.files)
    print(f"{len(problems)} problem(s) in {docs} objects from {len(args.files)} file(s); "
          f"Kubernetes {', '.join(args.versions)}; CRDs from {args.crds}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

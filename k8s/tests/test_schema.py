"""The schema validator (schema.py) rejects what the API server would reject.

Each case breaks one rendered object the way a typo would; the validator must name the problem.
Built-in kinds and custom resources are held to the same standard: an unknown field or a wrong
type in an HTTPRoute fails exactly as it does in a Deployment.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml

import schema

# make k8s-validate passes both (K8S_VERSIONS and CRDS_DIR of the Makefile).
VERSIONS = os.environ.get("K8S_VERSIONS", "1.35 1.36 1.37").split()


@pytest.fixture(scope="session")
def validator() -> schema.Validator:
    if not os.environ.get("CRDS_DIR"):
        pytest.fail("CRDS_DIR is not set: run `make k8s-validate`, or set CRDS_DIR to the CRD schema directory")
    return schema.Validator(Path(os.environ["CRDS_DIR"]), VERSIONS)


def find(docs, kind, name):
    return copy.deepcopy(next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name))


def test_everything_rendered_is_valid_and_custom_resources_are_checked(validator, rendered):
    kinds = set()
    for name, docs in rendered.items():
        for doc in docs:
            assert validator.errors(doc) == [], (name, schema.describe(doc))
            kinds.add(doc["kind"])
    # The custom resources really went through their CRDs, not around them.
    assert {"Gateway", "HTTPRoute", "Certificate", "ClientTrafficPolicy", "BackendTrafficPolicy",
            "EnvoyProxy", "GatewayClass", "ClusterIssuer"} <= kinds
    assert {k for (_, k) in validator.crds.crds} >= {"PodMonitor", "PrometheusRule", "ServiceMonitor"}


@pytest.mark.parametrize(
    ("kind", "name", "mutate", "problem"),
    [
        ("Deployment", "backend", lambda d: d["spec"].update(replcas=2),
         "spec: Additional properties are not allowed ('replcas' was unexpected) (Kubernetes"),
        ("HTTPRoute", "backend", lambda d: d["spec"]["rules"][0].update(backendRef=d["spec"]["rules"][0].pop("backendRefs")),
         "spec.rules[0]: Additional properties are not allowed ('backendRef' was unexpected) (CRD gateway-api/"),
        ("Deployment", "backend", lambda d: d["spec"].update(replicas="3"),
         "spec.replicas: '3' is not of type 'integer', 'null' (Kubernetes"),
        ("HTTPRoute", "backend", lambda d: d["spec"]["rules"][0]["backendRefs"][0].update(port="5000"),
         "spec.rules[0].backendRefs[0].port: '5000' is not of type 'integer'"),
        ("HTTPRoute", "https-redirect", lambda d: d["spec"]["rules"][0]["filters"][0]["requestRedirect"].update(statusCode=303.5),
         "statusCode: 303.5 is not one of [301, 302, 303, 307, 308]"),
        ("Gateway", "web", lambda d: d["spec"]["listeners"][1].update(hostName="app.example.com"),
         "spec.listeners[1]: Additional properties are not allowed ('hostName' was unexpected)"),
        ("Gateway", "web", lambda d: d["spec"]["listeners"].append(copy.deepcopy(d["spec"]["listeners"][0])),
         "have the same name [\"http\"] (x-kubernetes-list-type: map)"),
        ("Certificate", "web-tls", lambda d: d["spec"].update(dnsName=["x"]),
         "spec: Additional properties are not allowed ('dnsName' was unexpected) (CRD cert-manager/"),
        ("BackendTrafficPolicy", "web", lambda d: d["spec"]["timeout"]["http"].update(connectionIdleTimeout=60),
         "connectionIdleTimeout: 60 is not of type 'string'"),
        ("ClientTrafficPolicy", "web", lambda d: d["spec"]["clientIPDetection"].update(xForwardedFor={"numTrustedHops": "one"}),
         "numTrustedHops: 'one' is not of type 'integer'"),
        ("EnvoyProxy", "web", lambda d: d["spec"]["provider"]["kubernetes"]["envoyService"].update(externalTraficPolicy="Local"),
         "Additional properties are not allowed ('externalTraficPolicy' was unexpected) (CRD envoy-gateway/"),
        ("HTTPRoute", "backend", lambda d: d["metadata"].update(lables={"a": "b"}),
         "metadata: Additional properties are not allowed ('lables' was unexpected)"),
        ("HTTPRoute", "backend", lambda d: d["metadata"].pop("namespace"),
         "HTTPRoute is namespaced but the object has no metadata.namespace"),
        ("HTTPRoute", "backend", lambda d: d.update(apiVersion="gateway.networking.k8s.io/v1alpha9"),
         "does not serve v1alpha9; served: v1, v1beta1"),
        ("HTTPRoute", "backend", lambda d: d.update(apiVersion="example.com/v1"),
         "example.com/v1 HTTPRoute is neither a Kubernetes"),
        ("Deployment", "backend", lambda d: d.update(kind="Deploymnet"),
         f"apps/v1 Deploymnet is neither a Kubernetes {', '.join(VERSIONS)} kind nor defined by a CRD in CRDS_DIR"),
    ],
)
def test_rejects(validator, rendered, kind, name, mutate, problem):
    doc = find(rendered["production"], kind, name)
    assert validator.errors(doc) == []
    mutate(doc)
    problems = validator.errors(doc)
    assert any(problem in p for p in problems), problems


def test_cluster_scoped_custom_resource_must_not_carry_a_namespace(validator, rendered):
    doc = find(rendered["platform"], "GatewayClass", "envoy-gateway")
    doc["metadata"]["namespace"] = "production"
    assert validator.errors(doc) == ["GatewayClass is cluster-scoped but the object has metadata.namespace production"]


def test_int_or_string_and_defaults(validator, rendered):
    doc = find(rendered["production"], "BackendTrafficPolicy", "web")
    for limit in ("1Mi", 1048576):
        doc["spec"]["requestBuffer"]["limit"] = limit
        assert validator.errors(doc) == []
    doc["spec"]["requestBuffer"]["limit"] = True
    assert validator.errors(doc)
    # parentRefs[].kind has a default: omitting it (as our routes do) is valid.
    route = find(rendered["production"], "HTTPRoute", "frontend")
    assert "kind" in route["spec"]["parentRefs"][0]
    route["spec"]["parentRefs"][0].pop("kind")
    assert validator.errors(route) == []


# --- structural-schema rules on a small CRD ---------------------------------------------------

WIDGET_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                "note": {"type": "string", "nullable": True},
                "mode": {"type": "string", "default": "fast", "enum": ["fast", "safe"]},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
                "empty": {"type": "object"},
                "level": {"type": "string", "pattern": "^(?i)(abort|warn)?$"},
            },
        },
    },
}


@pytest.fixture(scope="module")
def widget_crds(tmp_path_factory):
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": WIDGET_SCHEMA}},
                              {"name": "v0", "served": True, "storage": False, "deprecated": True,
                               "deprecationWarning": "use v1", "schema": {"openAPIV3Schema": WIDGET_SCHEMA}}]},
    }
    d = tmp_path_factory.mktemp("crds")
    (d / "widget.yaml").write_text(yaml.safe_dump(crd))
    return d


@pytest.fixture(scope="module")
def widget_validator(widget_crds):
    return schema.Validator(widget_crds, VERSIONS[-1:])


def widget(**spec):
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "n"}, "spec": spec}


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"size": 3}, None),
        ({"size": "3Gi"}, None),
        ({"size": 3, "note": None}, None),
        ({"size": 3, "mode": None}, None),  # a null non-nullable field is pruned, then defaulted
        ({"size": 3, "extra": {"anything": {"goes": 1}}}, None),
        ({"size": 3, "labels": {"a": "b"}}, None),
        ({"size": 3, "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}}}, None),
        ({"size": 3, "level": "WARN"}, None),
        ({}, "'size' is a required property"),
        ({"size": 3.5}, "3.5 is not valid under any of the given schemas"),
        ({"size": 3, "mode": "slow"}, "'slow' is not one of ['fast', 'safe']"),
        ({"size": 3, "labels": {"a": 1}}, "1 is not of type 'string'"),
        ({"size": 3, "tags": ["a", "a"]}, "has non-unique elements"),
        ({"size": 3, "template": {"metadata": {"nmae": "p"}}}, "('nmae' was unexpected)"),
        ({"size": 3, "empty": {"x": 1}}, "('x' was unexpected)"),
        ({"size": 3, "level": "panic"}, "does not match"),
    ],
)
def test_structural_schema_rules(widget_validator, spec, problem):
    problems = widget_validator.errors(widget(**spec))
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_deprecated_custom_resource_version_is_refused(widget_validator):
    doc = widget(size=1)
    doc["apiVersion"] = "example.com/v0"
    assert widget_validator.errors(doc) == ["example.com/v0 Widget is deprecated: use v1"]


def test_missing_crds_dir_is_one_clear_error(tmp_path):
    with pytest.raises(schema.SchemaError, match="CRDS_DIR .* is not a directory"):
        schema.Validator(tmp_path / "nope", VERSIONS)
    with pytest.raises(schema.SchemaError, match="holds no CustomResourceDefinition"):
        schema.Validator(tmp_path, VERSIONS)


def test_cli_exit_status(tmp_path, widget_crds):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: n}\nspec: {size: 1}\n")
    bad.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: n}\nspec: {sise: 1}\n")
    args = ["--crds", str(widget_crds), "-k", VERSIONS[-1]]
    assert schema.main(args + [str(good)]) == 0
    assert schema.main(args + [str(good), str(bad)]) == 1
    assert schema.main(["--crds", str(tmp_path / "none"), "-k", VERSIONS[-1], str(good)]) == 2

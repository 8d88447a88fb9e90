"""The project's own policy checks on rendered Kubernetes YAML.

Each `check_*` function takes a list of manifests (dicts) and returns a list of violations
(human-readable strings); an empty list means the rule holds. Keeping the checks free of pytest
lets the tests feed them deliberately broken manifests and prove that they do flag them.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import yaml

Manifest = dict[str, Any]

POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
# Only these pods talk to the Kubernetes API and may carry a service-account token.
TOKEN_ALLOWED_SERVICE_ACCOUNTS = {"descheduler"}
# Images whose fixed uid comes from upstream (alpine's postgres user is 70).
LOW_UID_IMAGES = ("postgres:",)


def load_all(text: str) -> list[Manifest]:
    return [d for d in yaml.safe_load_all(text) if d]


def name_of(doc: Manifest) -> str:
    meta = doc.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{doc.get('kind')}/{(ns + '/') if ns else ''}{meta.get('name')}"


def pod_specs(docs: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    """Every pod spec, whatever object wraps it."""
    for doc in docs:
        kind = doc.get("kind")
        spec = doc.get("spec") or {}
        if kind == "Pod":
            yield name_of(doc), spec
        elif kind in POD_TEMPLATE_KINDS:
            yield name_of(doc), (spec.get("template") or {}).get("spec") or {}
        elif kind == "CronJob":
            job = (spec.get("jobTemplate") or {}).get("spec") or {}
            yield name_of(doc), (job.get("template") or {}).get("spec") or {}


def containers(pod: Manifest) -> Iterator[Manifest]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod.get(key) or []


def find_key(node: Any, key: str, path: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            here = f"{path}.{k}" if path else str(k)
            if k == key:
                yield here
            yield from find_key(v, key, here)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from find_key(v, key, f"{path}[{i}]")


# --- Services ---------------------------------------------------------------------------------

def check_services_cluster_ip(docs: list[Manifest]) -> list[str]:
    bad = []
    for doc in docs:
        if doc.get("kind") != "Service":
            continue
        stype = (doc.get("spec") or {}).get("type", "ClusterIP")
        if stype != "ClusterIP":
            bad.append(f"{name_of(doc)}: type {stype}, want ClusterIP or headless")
    return bad


def check_no_node_port(docs: list[Manifest]) -> list[str]:
    """`nodePort` survives under `type: ClusterIP` unnoticed by schema validators."""
    return [f"{name_of(d)}: {p}" for d in docs for p in find_key(d, "nodePort")]


# --- Deployments ------------------------------------------------------------------------------

def check_deployments(docs: list[Manifest]) -> list[str]:
    bad = []
    for doc in docs:
        if doc.get("kind") != "Deployment":
            continue
        n = name_of(doc)
        spec = doc.get("spec") or {}
        strategy = spec.get("strategy") or {}
        if strategy.get("type") != "RollingUpdate":
            bad.append(f"{n}: strategy type {strategy.get('type')!r}, want RollingUpdate")
        max_unavailable = (strategy.get("rollingUpdate") or {}).get("maxUnavailable")
        if max_unavailable not in (0, "0", "0%"):
            bad.append(f"{n}: rollingUpdate.maxUnavailable {max_unavailable!r}, want 0")
        pod = (spec.get("template") or {}).get("spec") or {}
        for c in pod.get("containers") or []:
            port_names = {p.get("name") for p in c.get("ports") or [] if p.get("name")}
            get = (c.get("readinessProbe") or {}).get("httpGet")
            if not get:
                bad.append(f"{n}/{c.get('name')}: no readinessProbe.httpGet")
                continue
            if get.get("path") != "/healthz":
                bad.append(f"{n}/{c.get('name')}: readiness path {get.get('path')!r}, want /healthz")
            port = get.get("port")
            if not isinstance(port, str) or port not in port_names:
                bad.append(f"{n}/{c.get('name')}: readiness port {port!r} is not a named container port")
    return bad


def check_min_replicas(docs: list[Manifest], minimum: int) -> list[str]:
    return [
        f"{name_of(d)}: replicas {(d.get('spec') or {}).get('replicas', 1)}, want >= {minimum}"
        for d in docs
        if d.get("kind") == "Deployment" and (d.get("spec") or {}).get("replicas", 1) < minimum
    ]


def check_graceful_shutdown(docs: list[Manifest], drain: int = 5, timeout: int = 20) -> list[str]:
    """Grace period must outlast preStop sleep + drain + in-flight timeout; no shell in preStop."""
    bad = []
    for doc in docs:
        if doc.get("kind") != "Deployment":
            continue
        pod = doc["spec"]["template"]["spec"]
        grace = pod.get("terminationGracePeriodSeconds", 30)
        for c in pod.get("containers") or []:
            pre = ((c.get("lifecycle") or {}).get("preStop")) or {}
            if "exec" in pre:
                bad.append(f"{name_of(doc)}/{c['name']}: preStop exec needs a shell/binary; use sleep")
            sleep = (pre.get("sleep") or {}).get("seconds", 0)
            if grace <= sleep + drain + timeout:
                bad.append(
                    f"{name_of(doc)}/{c['name']}: terminationGracePeriodSeconds {grace} <= "
                    f"preStop {sleep} + drain {drain} + timeout {timeout}"
                )
    return bad


def check_pdbs(docs: list[Manifest]) -> list[str]:
    pdbs = [
        ((d.get("metadata") or {}).get("namespace"), (d["spec"].get("selector") or {}).get("matchLabels") or {})
        for d in docs
        if d.get("kind") == "PodDisruptionBudget"
    ]
    bad = []
    for d in docs:
        if d.get("kind") != "Deployment":
            continue
        ns = (d.get("metadata") or {}).get("namespace")
        labels = ((d["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not any(pns == ns and sel and all(labels.get(k) == v for k, v in sel.items()) for pns, sel in pdbs):
            bad.append(f"{name_of(d)}: no PodDisruptionBudget selects its pods")
    return bad


# --- Migration job ----------------------------------------------------------------------------

def image_repo(image: str) -> str:
    """`registry/x/tools:tag@sha256:..` -> `tools`."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def check_migrate_job(docs: list[Manifest]) -> list[str]:
    jobs = [d for d in docs if d.get("kind") == "Job" and d["metadata"]["name"].startswith("migrate")]
    if not jobs:
        return ["no migrate Job rendered"]
    bad = []
    for job in jobs:
        n = name_of(job)
        spec = job["spec"]
        for key in ("backoffLimit", "ttlSecondsAfterFinished", "activeDeadlineSeconds"):
            if key not in spec:
                bad.append(f"{n}: no {key}")
        pod = spec["template"]["spec"]
        for c in pod.get("containers") or []:
            if "command" in c:
                bad.append(f"{n}/{c['name']}: sets command (replaces the tools ENTRYPOINT); use args")
            if image_repo(c.get("image", "")) != "tools" or (c.get("args") or [None])[0] != "db-migrate":
                bad.append(f"{n}/{c['name']}: want the tools image with args [db-migrate, ...]")
        inits = pod.get("initContainers") or []
        if not inits:
            bad.append(f"{n}: no init container waiting for the database")
        for c in inits:
            if "command" in c:
                bad.append(f"{n}/{c['name']}: init container sets command; use args")
            if image_repo(c.get("image", "")) != "tools":
                bad.append(f"{n}/{c['name']}: init image {c.get('image')!r}, want the tools image")
            if (c.get("args") or [None])[0] != "wait-for":
                bad.append(f"{n}/{c['name']}: init args {c.get('args')!r}, want [wait-for, HOST:PORT, ...]")
    return bad


# --- Pod security -----------------------------------------------------------------------------

def check_restricted(docs: list[Manifest]) -> list[str]:
    """Pod Security Standard "restricted", plus a read-only root filesystem."""
    bad = []
    for n, pod in pod_specs(docs):
        psc = pod.get("securityContext") or {}
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(key):
                bad.append(f"{n}: {key}")
        for v in pod.get("volumes") or []:
            if "hostPath" in v:
                bad.append(f"{n}: hostPath volume {v.get('name')}")
        for c in containers(pod):
            cn = f"{n}/{c.get('name')}"
            sc = c.get("securityContext") or {}
            if sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is not True:
                bad.append(f"{cn}: runAsNonRoot is not true")
            uid = sc.get("runAsUser", psc.get("runAsUser"))
            if not isinstance(uid, int) or isinstance(uid, bool) or uid <= 0:
                bad.append(f"{cn}: runAsUser {uid!r} is not a numeric non-root uid")
            seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                bad.append(f"{cn}: seccompProfile {seccomp!r}, want RuntimeDefault")
            if sc.get("allowPrivilegeEscalation") is not False:
                bad.append(f"{cn}: allowPrivilegeEscalation is not false")
            if sc.get("privileged"):
                bad.append(f"{cn}: privileged")
            caps = sc.get("capabilities") or {}
            if "ALL" not in (caps.get("drop") or []):
                bad.append(f"{cn}: capabilities.drop lacks ALL")
            if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
                bad.append(f"{cn}: adds capabilities {caps.get('add')}")
            if sc.get("readOnlyRootFilesystem") is not True:
                bad.append(f"{cn}: readOnlyRootFilesystem is not true")
            for p in c.get("ports") or []:
                if p.get("hostPort"):
                    bad.append(f"{cn}: hostPort {p['hostPort']}")
    return bad


def check_high_uids(docs: list[Manifest]) -> list[str]:
    """uid >= 10000 keeps clear of host accounts; only upstream images with fixed uids are exempt."""
    bad = []
    for n, pod in pod_specs(docs):
        psc = pod.get("securityContext") or {}
        for c in containers(pod):
            uid = (c.get("securityContext") or {}).get("runAsUser", psc.get("runAsUser"))
            image = image_repo(c.get("image", "")) + ":"
            if isinstance(uid, int) and uid < 10000 and not image.startswith(LOW_UID_IMAGES):
                bad.append(f"{n}/{c.get('name')}: runAsUser {uid} < 10000")
    return bad


def check_service_account_tokens(docs: list[Manifest]) -> list[str]:
    bad = []
    for n, pod in pod_specs(docs):
        sa = pod.get("serviceAccountName", "default")
        if sa in TOKEN_ALLOWED_SERVICE_ACCOUNTS:
            continue
        if sa == "default":
            bad.append(f"{n}: runs as the default service account")
        if pod.get("automountServiceAccountToken") is not False:
            bad.append(f"{n}: automountServiceAccountToken is not false")
    for d in docs:
        if d.get("kind") == "ServiceAccount" and d["metadata"]["name"] not in TOKEN_ALLOWED_SERVICE_ACCOUNTS:
            if d.get("automountServiceAccountToken") is not False:
                bad.append(f"{name_of(d)}: automountServiceAccountToken is not false")
    return bad


_IMAGE_RE = re.compile(r"^(?P<name>[^@]+?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")


def image_problem(image: str) -> str | None:
    m = _IMAGE_RE.match(image or "")
    if not m:
        return "unparsable image reference"
    # A ':' inside the name part is a registry port, not a tag.
    tag, digest = m.group("tag"), m.group("digest")
    if "/" in (tag or ""):
        tag = None
    if digest:
        return None
    if not tag:
        return "no tag or digest (means latest)"
    if tag == "latest":
        return "tag latest"
    return None


def check_images(docs: list[Manifest]) -> list[str]:
    return [
        f"{n}/{c.get('name')}: image {c.get('image')!r}: {problem}"
        for n, pod in pod_specs(docs)
        for c in containers(pod)
        if (problem := image_problem(c.get("image", "")))
    ]


# --- Namespaces and network -------------------------------------------------------------------

def check_namespaces_restricted(docs: list[Manifest], expect: set[str] | None = None) -> list[str]:
    namespaces = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "Namespace"}
    bad = []
    if expect is not None and set(namespaces) != expect:
        bad.append(f"namespaces rendered {sorted(namespaces)}, want {sorted(expect)}")
    for name, ns in namespaces.items():
        labels = ns["metadata"].get("labels") or {}
        for mode in ("enforce", "audit", "warn"):
            if labels.get(f"pod-security.kubernetes.io/{mode}") != "restricted":
                bad.append(f"Namespace/{name}: pod-security.kubernetes.io/{mode} is not restricted")
    for d in docs:
        ns = (d.get("metadata") or {}).get("namespace")
        if ns and namespaces and ns not in namespaces:
            bad.append(f"{name_of(d)}: namespace {ns} is not rendered with the restricted labels")
    return bad


def check_default_deny(docs: list[Manifest]) -> list[str]:
    namespaces = {d["metadata"]["name"] for d in docs if d.get("kind") == "Namespace"}
    denied = {
        d["metadata"].get("namespace")
        for d in docs
        if d.get("kind") == "NetworkPolicy"
        and d["spec"].get("podSelector") == {}
        and set(d["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
        and not d["spec"].get("ingress")
        and not d["spec"].get("egress")
    }
    return [f"Namespace/{ns}: no default-deny NetworkPolicy" for ns in sorted(namespaces - denied)]


def check_ingress(docs: list[Manifest]) -> list[str]:
    services = {
        (d["metadata"].get("namespace"), d["metadata"]["name"]): {p.get("name") for p in d["spec"].get("ports") or []}
        for d in docs
        if d.get("kind") == "Service"
    }
    bad = []
    for d in docs:
        if d.get("kind") != "Ingress":
            continue
        spec = d["spec"]
        if spec.get("ingressClassName") != "nginx":
            bad.append(f"{name_of(d)}: ingressClassName {spec.get('ingressClassName')!r}, want nginx")
        tls_hosts = {h for t in spec.get("tls") or [] for h in t.get("hosts") or []}
        for rule in spec.get("rules") or []:
            if rule.get("host") not in tls_hosts:
                bad.append(f"{name_of(d)}: host {rule.get('host')} has no TLS")
            for path in (rule.get("http") or {}).get("paths") or []:
                svc = path["backend"]["service"]
                ports = services.get((d["metadata"].get("namespace"), svc["name"]))
                if ports is None or svc["port"].get("name") not in ports:
                    bad.append(f"{name_of(d)}: backend {svc['name']}:{svc['port']} matches no Service port")
    return bad


# --- Descheduler ------------------------------------------------------------------------------

def descheduler_policy(docs: list[Manifest]) -> Manifest | None:
    for d in docs:
        if d.get("kind") == "ConfigMap" and d["metadata"]["name"].startswith("descheduler-policy"):
            return yaml.safe_load(d["data"]["policy.yaml"])
    return None


# Keys the pinned descheduler (v0.32) accepts; it ignores unknown keys silently, so typos
# would quietly turn a protection off.
POLICY_KEYS = {"apiVersion", "kind", "profiles", "nodeSelector", "maxNoOfPodsToEvictPerNode",
               "maxNoOfPodsToEvictPerNamespace", "maxNoOfPodsToEvictTotal"}
DEFAULT_EVICTOR_KEYS = {"nodeSelector", "labelSelector", "priorityThreshold", "nodeFit", "minReplicas",
                        "minPodAge", "evictLocalStoragePods", "evictDaemonSetPods", "evictSystemCriticalPods",
                        "ignorePvcPods", "ignorePodsWithoutPDB", "evictFailedBarePods"}
REMOVE_DUPLICATES_KEYS = {"excludeOwnerKinds", "namespaces"}


def check_descheduler_policy(policy: Manifest | None, namespaces: set[str], app_docs: list[Manifest]) -> list[str]:
    if policy is None:
        return ["no descheduler-policy ConfigMap"]
    bad = [f"unknown policy key {k!r}" for k in sorted(set(policy) - POLICY_KEYS)]
    for p in policy.get("profiles") or []:
        for c in p.get("pluginConfig") or []:
            known = {"DefaultEvictor": DEFAULT_EVICTOR_KEYS, "RemoveDuplicates": REMOVE_DUPLICATES_KEYS}.get(c["name"])
            if known is not None:
                bad += [f"{c['name']}: unknown arg {k!r}" for k in sorted(set(c.get("args") or {}) - known)]
    if policy.get("apiVersion") != "descheduler/v1alpha2" or policy.get("kind") != "DeschedulerPolicy":
        bad.append(f"policy is {policy.get('apiVersion')}/{policy.get('kind')}, want descheduler/v1alpha2 DeschedulerPolicy")
    profiles = policy.get("profiles") or []
    enabled = [p for p in profiles if "RemoveDuplicates" in ((p.get("plugins") or {}).get("balance") or {}).get("enabled", [])]
    if not enabled:
        bad.append("no profile enables RemoveDuplicates under plugins.balance.enabled")
    for p in enabled:
        configs = {c["name"]: c.get("args") or {} for c in p.get("pluginConfig") or []}
        included = set(((configs.get("RemoveDuplicates") or {}).get("namespaces") or {}).get("include") or [])
        if not namespaces <= included:
            bad.append(f"profile {p.get('name')}: RemoveDuplicates does not include {sorted(namespaces - included)}")
        evictor = configs.get("DefaultEvictor")
        if evictor is None:
            bad.append(f"profile {p.get('name')}: no DefaultEvictor pluginConfig")
            continue
        # The default evictor skips pods with emptyDir: a Deployment using one would never be spread.
        if not evictor.get("evictLocalStoragePods"):
            for d in app_docs:
                if d.get("kind") == "Deployment":
                    vols = d["spec"]["template"]["spec"].get("volumes") or []
                    if any("emptyDir" in v for v in vols):
                        bad.append(f"{name_of(d)} mounts an emptyDir but evictLocalStoragePods is false")
    return bad

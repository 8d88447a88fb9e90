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
            # Liveness must exercise the HTTP server (a TCP connect succeeds on a wedged server)
            # on a path that stays 200 while draining (/healthz turns 503 then: a liveness probe
            # on it would restart pods in the middle of a rolling update).
            live = c.get("livenessProbe") or {}
            live_get = live.get("httpGet")
            if not live_get:
                kind = next((k for k in ("tcpSocket", "exec", "grpc") if k in live), None)
                bad.append(f"{n}/{c.get('name')}: livenessProbe {kind or 'missing'}, want httpGet /livez")
                continue
            if live_get.get("path") != "/livez":
                bad.append(f"{n}/{c.get('name')}: liveness path {live_get.get('path')!r}, want /livez")
            if live_get.get("port") not in port_names:
                bad.append(f"{n}/{c.get('name')}: liveness port {live_get.get('port')!r} is not a named container port")
    return bad


def check_no_insecure_defaults_switch(docs: list[Manifest]) -> list[str]:
    """ALLOW_INSECURE_DEFAULTS is for local development: no manifest may set it (env or config)."""
    bad = []
    for doc in docs:
        if doc.get("kind") in ("ConfigMap", "Secret"):
            for key in list(doc.get("data") or {}) + list(doc.get("stringData") or {}):
                if key == "ALLOW_INSECURE_DEFAULTS":
                    bad.append(f"{name_of(doc)}: sets ALLOW_INSECURE_DEFAULTS")
    for n, pod in pod_specs(docs):
        for c in containers(pod):
            for e in c.get("env") or []:
                if e.get("name") == "ALLOW_INSECURE_DEFAULTS":
                    bad.append(f"{n}/{c.get('name')}: sets ALLOW_INSECURE_DEFAULTS")
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


def image_tag(image: str) -> str | None:
    """`registry:5000/x/tools:v1@sha256:..` -> `v1` (None without a tag)."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


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
        # Sane bounds: a few pod retries, a deadline, finished Jobs cleaned up within a week.
        if spec.get("backoffLimit", 0) > 3:
            bad.append(f"{n}: backoffLimit {spec['backoffLimit']} retries a failing migration too often")
        if not 0 < spec.get("activeDeadlineSeconds", 0) <= 3600:
            bad.append(f"{n}: activeDeadlineSeconds should be at most an hour")
        if not 0 < spec.get("ttlSecondsAfterFinished", 0) <= 7 * 86400:
            bad.append(f"{n}: ttlSecondsAfterFinished should clean finished Jobs within a week")
        pod = spec["template"]["spec"]
        # Jobs are immutable: the name must carry the release (the tools image's tag), or the
        # next release's apply fails while this one's Job still exists.
        tags = {image_tag(c.get("image", "")) for c in pod.get("containers") or []}
        if len(tags) != 1 or job["metadata"]["name"] != f"migrate-{next(iter(tags))}":
            bad.append(f"{n}: name should be migrate-<release tag> (tools image tags: {sorted(map(str, tags))})")
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


def check_backup_cronjob(docs: list[Manifest]) -> list[str]:
    """The daily db-backup: one run at a time, the backup image with `args` (its ENTRYPOINT is
    tools), a target of its own, the recipient and the store credentials from a Secret, a
    writable emptyDir for temporary files under the read-only root."""
    crons = [d for d in docs if d.get("kind") == "CronJob" and d["metadata"]["name"] == "db-backup"]
    if len(crons) != 1:
        return [f"want one CronJob db-backup, found {len(crons)}"]
    cron = crons[0]
    n = name_of(cron)
    spec = cron["spec"]
    bad = []
    fields = spec.get("schedule", "").split()
    if len(fields) != 5 or fields[2:] != ["*", "*", "*"] or not fields[0].isdigit() or not fields[1].isdigit():
        bad.append(f"{n}: schedule {spec.get('schedule')!r} is not once a day at a fixed time")
    if spec.get("concurrencyPolicy") != "Forbid":
        bad.append(f"{n}: concurrencyPolicy should be Forbid (two dumps would race retention)")
    if not spec.get("startingDeadlineSeconds"):
        bad.append(f"{n}: no startingDeadlineSeconds")
    job = spec["jobTemplate"]["spec"]
    if not 0 < job.get("activeDeadlineSeconds", 0) <= 86400:
        bad.append(f"{n}: activeDeadlineSeconds should bound a run to less than a day")
    pod = job["template"]["spec"]
    [c] = pod.get("containers") or [{}]
    if "command" in c:
        bad.append(f"{n}: sets command (replaces the tools ENTRYPOINT); use args")
    if image_repo(c.get("image", "")) != "backup" or (c.get("args") or [None])[0] != "db-backup":
        bad.append(f"{n}: want the backup image with args [db-backup, ...]")
    env = {e["name"]: e for e in c.get("env") or []}
    refs = c.get("envFrom") or []
    secrets = [r["secretRef"]["name"] for r in refs if "secretRef" in r]
    if not secrets:
        bad.append(f"{n}: no Secret for BACKUP_RECIPIENTS and the store credentials")
    for name in ("BACKUP_RECIPIENTS", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL"):
        if "value" in env.get(name, {}):
            bad.append(f"{n}: {name} written into the manifest; take it from a Secret")
    configs = {r["configMapRef"]["name"] for r in refs if "configMapRef" in r}
    to = [
        d.get("data", {}).get("BACKUP_TO", "")
        for d in docs
        if d.get("kind") == "ConfigMap" and d["metadata"]["name"] in configs
    ]
    if not any(to):
        bad.append(f"{n}: no BACKUP_TO in its ConfigMap")
    elif not all(t.startswith(("s3://", "gs://")) and t.endswith("/") for t in to if t):
        bad.append(f"{n}: BACKUP_TO {to} should be an off-cluster prefix (s3://bucket/prefix/)")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    if "emptyDir" not in volumes.get(mounts.get("/tmp", ""), {}):
        bad.append(f"{n}: no emptyDir at /tmp (the root filesystem is read-only)")
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


def check_no_ingress(docs: list[Manifest]) -> list[str]:
    """ingress-nginx is retired: no Ingress, no IngressClass, no nginx annotations."""
    bad = [f"{name_of(d)}: use a Gateway and HTTPRoutes" for d in docs if d.get("kind") in ("Ingress", "IngressClass")]
    for d in docs:
        for key in (d.get("metadata") or {}).get("annotations") or {}:
            if key.startswith("nginx.ingress.kubernetes.io/"):
                bad.append(f"{name_of(d)}: ingress-nginx annotation {key}")
    return bad


def check_network_ingress_sources(docs: list[Manifest], app_names: set[str], source: Manifest,
                                  metrics_source: Manifest | None = None) -> list[str]:
    """Pods of `app_names` admit traffic only from `source` (the gateway's namespaceSelector),
    on listed ports, and each of them is admitted at all (default-deny would block it). The
    `metrics_source` namespace (Prometheus) may be admitted too, on the `metrics` port only; the
    gateway never on that port."""
    bad, admitted = [], set()
    for d in docs:
        if d.get("kind") != "NetworkPolicy" or "Ingress" not in (d["spec"].get("policyTypes") or []):
            continue
        selected = selected_apps(d["spec"].get("podSelector") or {}, app_names)
        if not selected:
            continue
        for rule in d["spec"].get("ingress") or []:
            peers = rule.get("from") or [{"(anyone)": None}]
            ports = [p.get("port") for p in rule.get("ports") or []]
            metrics_only = bool(ports) and all(p in ("metrics", METRICS_PORT) for p in ports)
            scraper = metrics_source is not None and metrics_only
            wrong = [p for p in peers if p != {"namespaceSelector": source}
                     and not (scraper and p == {"namespaceSelector": metrics_source})]
            if wrong:
                bad.append(f"{name_of(d)}: admits {wrong} to {sorted(selected)}; only {source}"
                           + (f" (and {metrics_source} on the metrics port)" if metrics_source else ""))
            if not rule.get("ports"):
                bad.append(f"{name_of(d)}: an ingress rule to {sorted(selected)} without ports")
            gateway = {"namespaceSelector": source} in peers
            if gateway and any(p in ("metrics", METRICS_PORT) for p in ports):
                bad.append(f"{name_of(d)}: admits the gateway to the metrics port of {sorted(selected)}")
            if gateway and not wrong:
                admitted |= selected
    bad += [f"app {a}: no NetworkPolicy admits the gateway" for a in sorted(app_names - admitted)]
    return bad


# The metrics port every service listens on (METRICS_PORT's default) and its container port name.
METRICS_PORT = 9090


def check_metrics_scraped(docs: list[Manifest], app_names: set[str]) -> list[str]:
    """Each app's containers name a `metrics` port (9090), a PodMonitor scrapes that port of each
    app at /metrics, and no Service exposes it (Services are what routes point at: the Gateway
    must never reach /metrics)."""
    bad = []
    for d in of_kind(docs, "Deployment"):
        app = d["spec"]["template"]["metadata"].get("labels", {}).get("app.kubernetes.io/name")
        if app not in app_names:
            continue
        for c in d["spec"]["template"]["spec"]["containers"]:
            ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
            if ports.get("metrics") != METRICS_PORT:
                bad.append(f"{name_of(d)}/{c['name']}: no container port metrics={METRICS_PORT}")
    scraped = set()
    for m in of_kind(docs, "PodMonitor"):
        apps = selected_apps(m["spec"].get("selector") or {}, app_names)
        for ep in m["spec"].get("podMetricsEndpoints") or []:
            if ep.get("port") == "metrics" and ep.get("path", "/metrics") == "/metrics":
                scraped |= apps
    bad += [f"app {a}: no PodMonitor scrapes its metrics port" for a in sorted(app_names - scraped)]
    for svc in of_kind(docs, "Service"):
        for p in svc["spec"].get("ports") or []:
            if p.get("targetPort") in ("metrics", METRICS_PORT) or p.get("port") == METRICS_PORT:
                bad.append(f"{name_of(svc)}: exposes the metrics port (routable by the Gateway)")
    return bad


def selected_apps(selector: Manifest, app_names: set[str]) -> set[str]:
    """Which of our apps (by app.kubernetes.io/name) a podSelector selects."""
    if not selector:
        return set(app_names)
    picked = set(app_names)
    for key, value in (selector.get("matchLabels") or {}).items():
        picked = {a for a in picked if key == "app.kubernetes.io/name" and a == value}
    for expr in selector.get("matchExpressions") or []:
        if expr.get("key") != "app.kubernetes.io/name":
            return set()
        values = set(expr.get("values") or [])
        picked = {a for a in picked if (a in values) == (expr.get("operator") == "In")}
    return picked


# --- Gateway API ------------------------------------------------------------------------------

GATEWAY_GROUP = "gateway.networking.k8s.io"
SAFE_METHODS = {"GET", "HEAD"}
# Envoy's upstream idle timeout when nothing sets it.
ENVOY_DEFAULT_IDLE_TIMEOUT = "1h"


def of_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [d for d in docs if d.get("kind") == kind]


def ns_of(doc: Manifest) -> str | None:
    return (doc.get("metadata") or {}).get("namespace")


def parse_duration(text: str) -> float:
    """Gateway API Duration (`1h30m`, `60s`, `500ms`) in seconds."""
    parts = re.findall(r"(\d+)(h|ms|m|s)", text or "")
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Gateway API duration: {text!r}")
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(int(n) * scale[u] for n, u in parts)


def gateway_parents(route: Manifest, gateways: dict) -> Iterator[tuple[Manifest, Manifest | None, Manifest]]:
    """(gateway, listener or None for "every listener", parentRef) for each parentRef of a route."""
    for ref in route["spec"].get("parentRefs") or []:
        if ref.get("kind", "Gateway") != "Gateway" or ref.get("group", GATEWAY_GROUP) != GATEWAY_GROUP:
            continue
        gw = gateways.get((ref.get("namespace", ns_of(route)), ref["name"]))
        if gw is None:
            continue
        section = ref.get("sectionName")
        listeners = {lst["name"]: lst for lst in gw["spec"]["listeners"]}
        yield gw, listeners.get(section) if section else None, ref


def is_redirect_only(route: Manifest) -> bool:
    rules = route["spec"].get("rules") or []
    return bool(rules) and all(
        not rule.get("backendRefs")
        and [f.get("type") for f in rule.get("filters") or []] == ["RequestRedirect"]
        and rule["filters"][0]["requestRedirect"].get("scheme") == "https"
        and rule["filters"][0]["requestRedirect"].get("statusCode") == 301
        for rule in rules
    )


def check_gateways(docs: list[Manifest], classes: set[str]) -> list[str]:
    """One HTTP listener that only redirects, an HTTPS listener per host with a certificate that
    covers it, and every route attached to one named listener."""
    gateways = {(ns_of(g), g["metadata"]["name"]): g for g in of_kind(docs, "Gateway")}
    if not gateways:
        return ["no Gateway rendered"]
    certificates = {(ns_of(c), c["spec"]["secretName"]): c for c in of_kind(docs, "Certificate")}
    bad = []
    for (ns, _), gw in gateways.items():
        n = name_of(gw)
        if gw["spec"].get("gatewayClassName") not in classes:
            bad.append(f"{n}: gatewayClassName {gw['spec'].get('gatewayClassName')!r} is none of {sorted(classes)}")
        listeners = gw["spec"]["listeners"]
        http = [lst for lst in listeners if lst["protocol"] == "HTTP"]
        if len(http) != 1 or http[0]["port"] != 80 or "tls" in http[0]:
            bad.append(f"{n}: want exactly one plain HTTP listener on port 80, have {[lst['name'] for lst in http]}")
        hosts = [lst.get("hostname") for lst in listeners if lst["protocol"] == "HTTPS"]
        if len(set(hosts)) != len(hosts) or None in hosts:
            bad.append(f"{n}: HTTPS listeners need one distinct hostname each, have {hosts}")
        for lst in listeners:
            if lst["protocol"] not in ("HTTP", "HTTPS"):
                bad.append(f"{n}: listener {lst['name']} is {lst['protocol']}; only HTTP (redirect) and HTTPS")
            if lst["protocol"] != "HTTPS":
                continue
            tls = lst.get("tls") or {}
            if tls.get("mode", "Terminate") != "Terminate" or not tls.get("certificateRefs"):
                bad.append(f"{n}: listener {lst['name']} must terminate TLS with a certificate")
            for ref in tls.get("certificateRefs") or []:
                cert = certificates.get((ref.get("namespace", ns), ref["name"]))
                if ref.get("kind", "Secret") != "Secret" or cert is None:
                    bad.append(f"{n}: listener {lst['name']}: no Certificate writes Secret {ref['name']}")
                elif not any(host_matches(dns, lst.get("hostname") or "") for dns in cert["spec"].get("dnsNames") or []):
                    bad.append(f"{n}: listener {lst['name']}: Certificate {cert['metadata']['name']} does not cover {lst.get('hostname')}")
    attached: dict[tuple, list[Manifest]] = {}
    for route in of_kind(docs, "HTTPRoute"):
        for gw, listener, ref in gateway_parents(route, gateways):
            if listener is None:
                bad.append(f"{name_of(route)}: parentRef {ref} names no existing listener (sectionName): it would attach to every listener, port 80 included")
                continue
            attached.setdefault((ns_of(gw), gw["metadata"]["name"], listener["name"]), []).append(route)
            if listener["protocol"] == "HTTP" and not is_redirect_only(route):
                bad.append(f"{name_of(route)}: on plain-HTTP listener {listener['name']} but does more than a 301 redirect to https")
            if listener["protocol"] == "HTTPS" and route["spec"].get("hostnames"):
                bad.append(f"{name_of(route)}: names hostnames; let it serve its listener's host")
        if not list(gateway_parents(route, gateways)):
            bad.append(f"{name_of(route)}: attached to no rendered Gateway")
    for (ns, gname), gw in gateways.items():
        for lst in gw["spec"]["listeners"]:
            if not attached.get((ns, gname, lst["name"])):
                bad.append(f"{name_of(gw)}: listener {lst['name']} has no route")
    return bad


def host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host.count(".") == pattern.count(".")
    return pattern == host


def check_services_behind_routes(docs: list[Manifest]) -> list[str]:
    """Every backendRef is a port of a Service in the route's namespace; every Service with a
    cluster IP is the backend of a route on an HTTPS listener; the headless database is not."""
    services = {(ns_of(s), s["metadata"]["name"]): s for s in of_kind(docs, "Service")}
    gateways = {(ns_of(g), g["metadata"]["name"]): g for g in of_kind(docs, "Gateway")}
    bad, reached = [], set()
    for route in of_kind(docs, "HTTPRoute"):
        https = any(lst and lst["protocol"] == "HTTPS" for _, lst, _ in gateway_parents(route, gateways))
        for rule in route["spec"].get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                key = (ref.get("namespace", ns_of(route)), ref["name"])
                svc = services.get(key)
                if ref.get("kind", "Service") != "Service" or ref.get("group", "") != "" or svc is None:
                    bad.append(f"{name_of(route)}: backendRef {ref} is no Service in {ns_of(route)}")
                    continue
                if ref.get("port") not in {p["port"] for p in svc["spec"].get("ports") or []}:
                    bad.append(f"{name_of(route)}: backendRef {ref['name']}:{ref.get('port')} is no port of the Service")
                if svc["spec"].get("clusterIP") == "None":
                    bad.append(f"{name_of(route)}: routes to headless Service {ref['name']}")
                if https:
                    reached.add(key)
    for key, svc in services.items():
        if svc["spec"].get("clusterIP") != "None" and key not in reached:
            bad.append(f"{name_of(svc)}: not the backend of any HTTPRoute on an HTTPS listener")
    return bad


def effective_backend_policy(docs: list[Manifest], route: Manifest, rule: Manifest, gw: Manifest, listener: Manifest) -> Manifest:
    """The BackendTrafficPolicy spec Envoy Gateway applies to one route rule: the most specific
    target wins (rule > route > listener > Gateway); a route-level policy with mergeType is
    merged over the closest Gateway-level one instead of replacing it."""
    levels: dict[int, Manifest] = {}
    for btp in of_kind(docs, "BackendTrafficPolicy"):
        if ns_of(btp) != ns_of(route):
            continue
        for ref in btp["spec"].get("targetRefs") or []:
            kind, name, section = ref.get("kind"), ref.get("name"), ref.get("sectionName")
            if kind == "HTTPRoute" and name == route["metadata"]["name"]:
                level = 4 if section is not None and section == rule.get("name") else 3 if section is None else 0
            elif kind == "Gateway" and name == gw["metadata"]["name"]:
                level = 2 if section is not None and section == listener["name"] else 1 if section is None else 0
            else:
                level = 0
            if level:
                levels.setdefault(level, btp["spec"])
    route_level = levels.get(4) or levels.get(3)
    gateway_level = levels.get(2) or levels.get(1) or {}
    if route_level is None:
        return gateway_level
    if route_level.get("mergeType"):
        return deep_merge(gateway_level, route_level)
    return route_level


def deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {k: deep_merge(base.get(k), v) if k in base else v for k, v in over.items()} | {
            k: v for k, v in base.items() if k not in over}
    return over


def container_env(docs: list[Manifest], namespace: str | None, container: Manifest) -> dict[str, str]:
    """A container's environment as the kubelet builds it from env and ConfigMap envFrom."""
    env: dict[str, str] = {}
    configmaps = {d["metadata"]["name"]: d.get("data") or {} for d in of_kind(docs, "ConfigMap") if ns_of(d) == namespace}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        if ref:
            env.update({(source.get("prefix") or "") + k: v for k, v in configmaps.get(ref["name"], {}).items()})
    for var in container.get("env") or []:
        if "value" in var:
            env[var["name"]] = var["value"]
    return env


def pods_behind(docs: list[Manifest], service: Manifest) -> Iterator[tuple[str, Manifest]]:
    selector = service["spec"].get("selector") or {}
    for d in docs:
        if d.get("kind") in POD_TEMPLATE_KINDS and ns_of(d) == ns_of(service):
            labels = ((d["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                yield name_of(d), d["spec"]["template"]["spec"]


def check_idle_timeout_below_keepalive(docs: list[Manifest]) -> list[str]:
    """For every route rule, the gateway's upstream idle timeout is set and strictly below the
    KEEPALIVE_TIMEOUT_SECONDS every pod behind the rule's Service sets explicitly."""
    gateways = {(ns_of(g), g["metadata"]["name"]): g for g in of_kind(docs, "Gateway")}
    services = {(ns_of(s), s["metadata"]["name"]): s for s in of_kind(docs, "Service")}
    bad, checked = [], 0
    for route in of_kind(docs, "HTTPRoute"):
        for gw, listener, _ in gateway_parents(route, gateways):
            if listener is None:
                continue
            for rule in route["spec"].get("rules") or []:
                for ref in rule.get("backendRefs") or []:
                    svc = services.get((ns_of(route), ref["name"]))
                    if svc is None:
                        continue
                    spec = effective_backend_policy(docs, route, rule, gw, listener)
                    idle_text = ((spec.get("timeout") or {}).get("http") or {}).get("connectionIdleTimeout")
                    where = f"{name_of(route)} rule {rule.get('name')!r} -> Service {ref['name']}"
                    if idle_text is None:
                        bad.append(f"{where}: no upstream connectionIdleTimeout (Envoy's default {ENVOY_DEFAULT_IDLE_TIMEOUT})")
                        idle = parse_duration(ENVOY_DEFAULT_IDLE_TIMEOUT)
                    else:
                        idle = parse_duration(idle_text)
                    pods = list(pods_behind(docs, svc))
                    if not pods:
                        bad.append(f"{where}: no pods behind the Service")
                    for pod_name, pod in pods:
                        for c in pod.get("containers") or []:
                            keepalive = container_env(docs, ns_of(svc), c).get("KEEPALIVE_TIMEOUT_SECONDS")
                            checked += 1
                            if keepalive is None:
                                bad.append(f"{where}: {pod_name}/{c['name']} does not set KEEPALIVE_TIMEOUT_SECONDS")
                            elif not idle < float(keepalive):
                                bad.append(f"{where}: gateway idle timeout {idle:g}s is not below {pod_name}/{c['name']} "
                                           f"KEEPALIVE_TIMEOUT_SECONDS={keepalive}")
    if not checked:
        bad.append("no route reaches a pod: nothing checked")
    return bad


def check_retries_safe_methods_only(docs: list[Manifest]) -> list[str]:
    """Retries only on route rules whose every match is a GET or HEAD."""
    routes = {(ns_of(r), r["metadata"]["name"]): r for r in of_kind(docs, "HTTPRoute")}
    bad = []
    for btp in of_kind(docs, "BackendTrafficPolicy"):
        if "retry" not in btp["spec"]:
            continue
        for ref in btp["spec"].get("targetRefs") or []:
            route = routes.get((ns_of(btp), ref.get("name"))) if ref.get("kind") == "HTTPRoute" else None
            rules = {r.get("name"): r for r in (route or {"spec": {}})["spec"].get("rules") or []}
            rule = rules.get(ref.get("sectionName"))
            if rule is None:
                bad.append(f"{name_of(btp)}: retries on {ref}: target a named HTTPRoute rule of safe methods")
                continue
            methods = [m.get("method") for m in rule.get("matches") or [{}]]
            if not methods or any(m not in SAFE_METHODS for m in methods):
                bad.append(f"{name_of(btp)}: retries rule {ref['name']}/{ref['sectionName']} which matches methods {methods}")
        for trigger in ((btp["spec"]["retry"].get("retryOn") or {}).get("triggers")) or ["(Envoy Gateway's default: includes 503)"]:
            if trigger not in {"connect-failure", "refused-stream", "reset", "reset-before-request"}:
                bad.append(f"{name_of(btp)}: retries on {trigger}: a 5xx from an overloaded service must not be retried")
    return bad


def check_client_address(docs: list[Manifest]) -> list[str]:
    """The backend keys the login limit on the LAST X-Forwarded-For entry. That entry is the
    client as Envoy sees it only if (a) Envoy takes the client from the TCP connection
    (directSourceIP) and the address reaches it unchanged (externalTrafficPolicy Local, or PROXY
    protocol), or (b) exactly one trusted L7 hop in front appended it and Envoy appends nothing."""
    bad = []
    proxies = {(ns_of(p), p["metadata"]["name"]): p for p in of_kind(docs, "EnvoyProxy")}
    for gw in of_kind(docs, "Gateway"):
        ctps = [c for c in of_kind(docs, "ClientTrafficPolicy") if ns_of(c) == ns_of(gw) and any(
            r.get("kind") == "Gateway" and r.get("name") == gw["metadata"]["name"] for r in c["spec"].get("targetRefs") or [])]
        if len(ctps) != 1:
            bad.append(f"{name_of(gw)}: want one ClientTrafficPolicy for the whole Gateway, have {len(ctps)}")
            continue
        spec = ctps[0]["spec"]
        detection = spec.get("clientIPDetection") or {}
        ref = ((gw["spec"].get("infrastructure") or {}).get("parametersRef")) or {}
        proxy = proxies.get((ns_of(gw), ref.get("name"))) if ref.get("kind") == "EnvoyProxy" else None
        service = (((proxy or {}).get("spec", {}).get("provider") or {}).get("kubernetes") or {}).get("envoyService") or {}
        if "directSourceIP" in detection:
            if service.get("externalTrafficPolicy") != "Local" and not spec.get("proxyProtocol"):
                bad.append(f"{name_of(gw)}: directSourceIP needs the client's address on the connection: "
                           "EnvoyProxy envoyService.externalTrafficPolicy Local or proxyProtocol")
        elif "xForwardedFor" in detection:
            xff = detection["xForwardedFor"]
            if xff.get("numTrustedHops") != 1 or xff.get("disableXForwardedForAppend") is not True:
                bad.append(f"{name_of(gw)}: xForwardedFor {xff}: the last entry is the client only with "
                           "numTrustedHops 1 and disableXForwardedForAppend true")
        else:
            bad.append(f"{name_of(gw)}: ClientTrafficPolicy sets no clientIPDetection")
    return bad


def check_hosts_consistent(docs: list[Manifest]) -> list[str]:
    """The URLs in the services' configs name the hosts the Gateway serves them on."""
    gateways = {(ns_of(g), g["metadata"]["name"]): g for g in of_kind(docs, "Gateway")}
    host_of: dict[str, str] = {}
    for route in of_kind(docs, "HTTPRoute"):
        for _, listener, _ in gateway_parents(route, gateways):
            if listener and listener.get("hostname"):
                for rule in route["spec"].get("rules") or []:
                    for ref in rule.get("backendRefs") or []:
                        host_of[ref["name"]] = listener["hostname"]
    config = {d["metadata"]["name"].rsplit("-", 1)[0]: d.get("data") or {} for d in of_kind(docs, "ConfigMap")}
    want = [
        ("backend-config", "CORS_ALLOWED_ORIGINS", "frontend"),
        ("frontend-config", "PUBLIC_API_URL", "backend"),
        ("marketing-config", "PUBLIC_APP_URL", "frontend"),
    ]
    bad = []
    for cm, key, service in want:
        url = f"https://{host_of.get(service)}"
        values = (config.get(cm, {}).get(key) or "").split(",")
        if url not in values:
            bad.append(f"ConfigMap {cm}: {key}={config.get(cm, {}).get(key)!r}, want {url} (the {service} listener)")
    return bad


def check_issuers(docs: list[Manifest]) -> list[str]:
    """cert-manager's HTTP-01 solver Service is a NodePort unless told otherwise."""
    bad = []
    for d in docs:
        if d.get("kind") in ("Issuer", "ClusterIssuer"):
            for solver in ((d["spec"].get("acme") or {}).get("solvers")) or []:
                for kind, cfg in (solver.get("http01") or {}).items():
                    if (cfg or {}).get("serviceType") != "ClusterIP":
                        bad.append(f"{name_of(d)}: http01 {kind} solver without serviceType ClusterIP (default NodePort)")
    return bad


# --- Descheduler ------------------------------------------------------------------------------

def descheduler_policy(docs: list[Manifest]) -> Manifest | None:
    for d in docs:
        if d.get("kind") == "ConfigMap" and d["metadata"]["name"].startswith("descheduler-policy"):
            return yaml.safe_load(d["data"]["policy.yaml"])
    return None


# The descheduler/v1alpha2 API of descheduler v0.37 (pkg/api/v1alpha2/types.go and the plugins'
# Args types). The descheduler decodes leniently and drops unknown keys without a word, so a
# typo would quietly turn a protection off: every key is checked here.
POLICY_KEYS = {"apiVersion", "kind", "profiles", "nodeSelector", "maxNoOfPodsToEvictPerNode",
               "maxNoOfPodsToEvictPerNamespace", "maxNoOfPodsToEvictTotal",
               "evictionFailureEventNotification", "metricsProviders", "gracePeriodSeconds"}
DEPRECATED_POLICY_KEYS = {"metricsCollector": "metricsProviders"}
PROFILE_KEYS = {"name", "pluginConfig", "plugins"}
EXTENSION_POINTS = {"presort", "sort", "deschedule", "balance", "filter", "preevictionfilter"}
PLUGIN_SET_KEYS = {"enabled", "disabled"}
PLUGIN_CONFIG_KEYS = {"name", "args"}
PLUGINS = {"DefaultEvictor", "RemoveDuplicates", "LowNodeUtilization", "HighNodeUtilization", "PodLifeTime",
           "RemoveFailedPods", "RemovePodsHavingTooManyRestarts", "RemovePodsViolatingInterPodAntiAffinity",
           "RemovePodsViolatingNodeAffinity", "RemovePodsViolatingNodeTaints",
           "RemovePodsViolatingTopologySpreadConstraint"}
DEFAULT_EVICTOR_KEYS = {"nodeSelector", "labelSelector", "namespaceLabelSelector", "priorityThreshold", "nodeFit",
                        "minReplicas", "minPodAge", "noEvictionPolicy", "podProtections"}
# Deprecated DefaultEvictor flags and the podProtections entry that replaces each.
DEPRECATED_EVICTOR_KEYS = {
    "evictLocalStoragePods": "podProtections.defaultDisabled: [PodsWithLocalStorage]",
    "evictDaemonSetPods": "podProtections.defaultDisabled: [DaemonSetPods]",
    "evictSystemCriticalPods": "podProtections.defaultDisabled: [SystemCriticalPods]",
    "evictFailedBarePods": "podProtections.defaultDisabled: [FailedBarePods]",
    "ignorePvcPods": "podProtections.extraEnabled: [PodsWithPVC]",
    "ignorePodsWithoutPDB": "podProtections.extraEnabled: [PodsWithoutPDB]",
}
POD_PROTECTIONS_KEYS = {"extraEnabled", "defaultDisabled", "config"}
DEFAULT_PROTECTIONS = {"PodsWithLocalStorage", "DaemonSetPods", "SystemCriticalPods", "FailedBarePods"}
EXTRA_PROTECTIONS = {"PodsWithPVC", "PodsWithoutPDB", "PodsWithResourceClaims"}
REMOVE_DUPLICATES_KEYS = {"excludeOwnerKinds", "namespaces"}
NAMESPACES_KEYS = {"include", "exclude"}


def unknown_keys(where: str, node: Any, known: set[str], deprecated: dict[str, str] | None = None) -> list[str]:
    if not isinstance(node, dict):
        return [f"{where}: want a mapping, got {node!r}"]
    bad = []
    for key in sorted(node):
        if deprecated and key in deprecated:
            bad.append(f"{where}: deprecated key {key!r}; use {deprecated[key]}")
        elif key not in known:
            bad.append(f"{where}: unknown key {key!r}")
    return bad


def label_selector_matches(selector: Manifest, labels: dict[str, str]) -> bool:
    if not all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], set(expr.get("values") or [])
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values) \
                or (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True


def check_descheduler_policy(policy: Manifest | None, namespaces: list[Manifest], app_docs: list[Manifest]) -> list[str]:
    """The policy uses only v0.37 keys, no deprecated ones, and spreads duplicates in every
    given Namespace (by the evictor's namespace selector and RemoveDuplicates' namespaces)."""
    if policy is None:
        return ["no descheduler-policy ConfigMap"]
    bad = unknown_keys("policy", policy, POLICY_KEYS, DEPRECATED_POLICY_KEYS)
    if policy.get("apiVersion") != "descheduler/v1alpha2" or policy.get("kind") != "DeschedulerPolicy":
        bad.append(f"policy is {policy.get('apiVersion')}/{policy.get('kind')}, want descheduler/v1alpha2 DeschedulerPolicy")
    spreading = []
    for p in policy.get("profiles") or []:
        name = p.get("name")
        bad += unknown_keys(f"profile {name}", p, PROFILE_KEYS)
        plugins = p.get("plugins") or {}
        bad += unknown_keys(f"profile {name}: plugins", plugins, EXTENSION_POINTS)
        enabled = set()
        for point, plugin_set in plugins.items():
            bad += unknown_keys(f"profile {name}: plugins.{point}", plugin_set, PLUGIN_SET_KEYS)
            enabled |= set((plugin_set or {}).get("enabled") or [])
        configs = {}
        for c in p.get("pluginConfig") or []:
            bad += unknown_keys(f"profile {name}: pluginConfig {c.get('name')}", c, PLUGIN_CONFIG_KEYS)
            if c.get("name") not in PLUGINS:
                bad.append(f"profile {name}: unknown plugin {c.get('name')!r}")
            configs[c.get("name")] = c.get("args") or {}
        bad += [f"profile {name}: {plugin} is enabled but has no pluginConfig entry"
                for plugin in sorted(enabled - set(configs) - {"DefaultEvictor"})]
        bad += [f"profile {name}: unknown plugin {plugin!r} enabled" for plugin in sorted(enabled - PLUGINS)]
        evictor = configs.get("DefaultEvictor")
        if evictor is None:
            bad.append(f"profile {name}: no DefaultEvictor pluginConfig")
            evictor = {}
        bad += unknown_keys("DefaultEvictor", evictor, DEFAULT_EVICTOR_KEYS, DEPRECATED_EVICTOR_KEYS)
        protections = evictor.get("podProtections") or {}
        bad += unknown_keys("DefaultEvictor.podProtections", protections, POD_PROTECTIONS_KEYS)
        bad += [f"DefaultEvictor.podProtections.extraEnabled: unknown {x!r}"
                for x in protections.get("extraEnabled") or [] if x not in EXTRA_PROTECTIONS]
        bad += [f"DefaultEvictor.podProtections.defaultDisabled: unknown {x!r}"
                for x in protections.get("defaultDisabled") or [] if x not in DEFAULT_PROTECTIONS]
        if evictor.get("nodeFit") is not True:
            bad.append(f"profile {name}: DefaultEvictor nodeFit is not true (pods could be evicted with nowhere to go)")
        duplicates = configs.get("RemoveDuplicates")
        if duplicates is not None:
            bad += unknown_keys("RemoveDuplicates", duplicates, REMOVE_DUPLICATES_KEYS)
            bad += unknown_keys("RemoveDuplicates.namespaces", duplicates.get("namespaces") or {}, NAMESPACES_KEYS)
        if "RemoveDuplicates" in set(((plugins.get("balance") or {}).get("enabled")) or []):
            spreading.append((name, evictor, duplicates or {}))
    if not spreading:
        bad.append("no profile enables RemoveDuplicates under plugins.balance.enabled")
    for name, evictor, duplicates in spreading:
        selector = evictor.get("namespaceLabelSelector") or {}
        scope = duplicates.get("namespaces") or {}
        for ns in namespaces:
            ns_name, labels = ns["metadata"]["name"], ns["metadata"].get("labels") or {}
            if not label_selector_matches(selector, labels):
                bad.append(f"profile {name}: namespace {ns_name} does not match the evictor's namespaceLabelSelector {selector}")
            if (scope.get("include") and ns_name not in scope["include"]) or ns_name in (scope.get("exclude") or []):
                bad.append(f"profile {name}: RemoveDuplicates namespaces {scope} leave out {ns_name}")
        # The local-storage protection (on unless disabled) never evicts a pod with an emptyDir.
        disabled = set(((evictor.get("podProtections") or {}).get("defaultDisabled")) or [])
        if "PodsWithLocalStorage" not in disabled:
            for d in app_docs:
                if d.get("kind") == "Deployment":
                    vols = d["spec"]["template"]["spec"].get("volumes") or []
                    if any("emptyDir" in v for v in vols):
                        bad.append(f"{name_of(d)} mounts an emptyDir, which the PodsWithLocalStorage protection never evicts")
    return bad


# What descheduler v0.37 needs (upstream's ClusterRole without the leader-election, metrics and
# secret rules a CronJob does not use): (apiGroup, resource) -> verbs.
DESCHEDULER_RULES = {
    ("events.k8s.io", "events"): {"create", "update"},
    ("", "nodes"): {"get", "watch", "list"},
    ("", "namespaces"): {"get", "watch", "list"},
    ("", "pods"): {"get", "watch", "list"},
    ("", "pods/eviction"): {"create"},
    ("scheduling.k8s.io", "priorityclasses"): {"get", "watch", "list"},
    ("policy", "poddisruptionbudgets"): {"get", "watch", "list"},
    ("", "persistentvolumeclaims"): {"get", "watch", "list"},
}


def check_descheduler_rbac(docs: list[Manifest]) -> list[str]:
    roles = [d for d in docs if d.get("kind") == "ClusterRole" and d["metadata"]["name"] == "descheduler"]
    if len(roles) != 1:
        return [f"want one ClusterRole descheduler, have {len(roles)}"]
    granted: dict[tuple[str, str], set[str]] = {}
    bad = []
    for rule in roles[0].get("rules") or []:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                granted.setdefault((group, resource), set()).update(rule.get("verbs") or [])
        if rule.get("resourceNames") or rule.get("nonResourceURLs"):
            bad.append(f"ClusterRole/descheduler: unexpected rule {rule}")
    for key, verbs in sorted(granted.items()):
        extra = verbs - DESCHEDULER_RULES.get(key, set())
        if extra:
            bad.append(f"ClusterRole/descheduler: {key[0] or 'core'}/{key[1]}: verbs {sorted(extra)} beyond what v0.37 needs")
    for key, verbs in sorted(DESCHEDULER_RULES.items()):
        missing = verbs - granted.get(key, set())
        if missing:
            bad.append(f"ClusterRole/descheduler: {key[0] or 'core'}/{key[1]}: lacks {sorted(missing)}")
    return bad

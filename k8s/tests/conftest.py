"""Rendered manifests for the policy tests.

`make k8s-validate` renders once into $K8S_RENDERED (one file per kustomization); run alone,
`pytest k8s/tests` renders with `kubectl kustomize` into a temporary directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import policy  # noqa: E402

K8S = Path(__file__).resolve().parent.parent
TARGETS = {
    "development": K8S / "overlays" / "development",
    "preview": K8S / "overlays" / "preview",
    "production": K8S / "overlays" / "production",
    "production-cutover": K8S / "overlays" / "production-cutover",
    "descheduler": K8S / "descheduler",
    "platform": K8S / "platform",
}


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> dict[str, list[dict]]:
    out_dir = os.environ.get("K8S_RENDERED")
    docs = {}
    for name, path in TARGETS.items():
        if out_dir:
            text = (Path(out_dir) / f"{name}.yaml").read_text()
        else:
            text = subprocess.run(
                ["kubectl", "kustomize", str(path)], check=True, capture_output=True, text=True
            ).stdout
        docs[name] = policy.load_all(text)
    return docs


@pytest.fixture(scope="session")
def everything(rendered) -> list[dict]:
    """What is applied in steady state (the one-off cutover overlay is tested on its own)."""
    return [d for name, docs in rendered.items() if name != "production-cutover" for d in docs]

#!/usr/bin/env python3
"""Validates the Kubernetes Indexed Job that `prunekit sweep --emit kubernetes` writes.

  python3 scripts/validate_k8s.py [--self-test] [MANIFEST.yaml ...]
  (default: Tests/Golden/sweep/sweep-job.yaml; --self-test first checks that eight broken copies of
  the first manifest, one defect each, are refused)

Three checks, each printed with what it covers (docs/cluster.md says what is and is not checked):
 1. the JSON schemas of the Kubernetes API (kubernetes-validate, `pip install kubernetes-validate`),
    strict (unknown fields refused), for every API version from 1.29 (backoffLimitPerIndex is
    beta and on by default from 1.29) to the newest the package has;
 2. the rules the API server applies that the schemas cannot express (validation in
    pkg/apis/batch/validation): Indexed completion mode with completions set, backoffLimitPerIndex
    only with Indexed and restartPolicy Never, parallelism ≤ completions, a DNS-1123 job name of at
    most 63 characters (Indexed pods use it as their hostname), every volumeMount naming a volume,
    requests ≤ limits, and that the container command reads the index from JOB_COMPLETION_INDEX;
 3. `kubectl create --dry-run=client --validate=false` parses the file, where kubectl is installed
    (no cluster is reachable here, so no server-side dry run and no admission webhooks).
Exits 1 on the first failing manifest.
"""
import os
import re
import shutil
import subprocess
import sys

import kubernetes_validate
import yaml

FIRST = (1, 29)


def versions():
    found = set()
    for v in kubernetes_validate.utils.all_versions():
        major, minor, *_ = (int(x) for x in v.split("."))
        if (major, minor) >= FIRST:
            found.add(v)
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


def quantity(text):
    """cpu '2' / '500m', memory '2048Mi' / '2Gi' → a number in base units."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    if not match or (match.group(2) and match.group(2) not in units):
        raise ValueError(f"not a quantity: {text!r}")
    return float(match.group(1)) * units.get(match.group(2), 1)


def server_rules(job):
    """The API server's Job rules that no JSON schema carries; returns a list of problems."""
    problems = []
    spec = job.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    name = job.get("metadata", {}).get("name", "")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) or len(name) > 63:
        problems.append(f"metadata.name {name!r}: expected a DNS-1123 label of at most 63 characters")
    if spec.get("completionMode") != "Indexed":
        problems.append("spec.completionMode: expected Indexed")
    completions = spec.get("completions")
    if not isinstance(completions, int) or completions < 1:
        problems.append("spec.completions: required (≥ 1) with Indexed completion mode")
    parallelism = spec.get("parallelism", 1)
    if isinstance(completions, int) and parallelism > completions:
        problems.append(f"spec.parallelism {parallelism} > completions {completions}")
    if "backoffLimitPerIndex" in spec:
        if pod.get("restartPolicy") != "Never":
            problems.append("backoffLimitPerIndex needs template.spec.restartPolicy Never")
    volumes = {v.get("name") for v in pod.get("volumes", [])}
    containers = pod.get("containers", [])
    if not containers:
        problems.append("template.spec.containers: empty")
    for c in containers:
        for m in c.get("volumeMounts", []):
            if m.get("name") not in volumes:
                problems.append(f"container {c.get('name')}: volumeMount {m.get('name')!r} names no volume")
        resources = c.get("resources", {})
        for key, request in resources.get("requests", {}).items():
            limit = resources.get("limits", {}).get(key)
            if limit is not None and quantity(request) > quantity(limit):
                problems.append(f"container {c.get('name')}: {key} request {request} > limit {limit}")
        words = c.get("command", []) + c.get("args", [])
        if not any("$(JOB_COMPLETION_INDEX)" in w for w in words):
            problems.append(f"container {c.get('name')}: the command does not read $(JOB_COMPLETION_INDEX)")
        if "--cell" not in words:
            problems.append(f"container {c.get('name')}: no --cell in the command")
    return problems


def kubectl_version(kubectl):
    r = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True)
    return r.stdout.split("\n")[0].replace("Client Version: ", "") if r.returncode == 0 else "?"


def broken_copies(job):
    """Manifests that must be refused: one defect each (the self-test shows the checks can fail)."""
    import copy
    def edit(f):
        j = copy.deepcopy(job)
        f(j)
        return j
    pod = lambda j: j["spec"]["template"]["spec"]
    return {
        "unknown field": edit(lambda j: j["spec"].update(completionModes="Indexed")),
        "completions not a number": edit(lambda j: j["spec"].update(completions="eight")),
        "restartPolicy OnFailure with backoffLimitPerIndex": edit(lambda j: pod(j).update(restartPolicy="OnFailure")),
        "no completions": edit(lambda j: j["spec"].pop("completions")),
        "mount of no volume": edit(lambda j: pod(j).update(volumes=[])),
        "upper-case name": edit(lambda j: j["metadata"].update(name="Sweep")),
        "command without the index": edit(lambda j: pod(j)["containers"][0].update(command=["prunekit", "sweep"])),
        "request above limit": edit(lambda j: pod(j)["containers"][0]["resources"]["requests"].update(cpu="4")),
    }


def refused(job):
    for version in versions():
        try:
            kubernetes_validate.validate(job, version, strict=True)
        except kubernetes_validate.ValidationError:
            return True
    return bool(server_rules(job))


def self_test(path):
    with open(path) as f:
        job = yaml.safe_load(f)
    ok = True
    for name, broken in broken_copies(job).items():
        if refused(broken):
            print(f"self-test: {name}: refused")
        else:
            print(f"self-test: {name}: ACCEPTED (the checks missed it)")
            ok = False
    return ok


def check(path):
    with open(path) as f:
        documents = [d for d in yaml.safe_load_all(f) if d is not None]
    if len(documents) != 1 or documents[0].get("kind") != "Job":
        print(f"{path}: expected one Job document, found {[d.get('kind') for d in documents]}")
        return False
    job = documents[0]
    ok = True
    tried = versions()
    for version in tried:
        try:
            kubernetes_validate.validate(job, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            print(f"{path}: schema {version} (strict): {'.'.join(str(p) for p in e.path)}: {e.message}")
            ok = False
    if ok:
        print(f"{path}: API schemas {tried[0]}–{tried[-1]} (strict, {len(tried)} versions): valid")
    problems = server_rules(job)
    for p in problems:
        print(f"{path}: {p}")
    if not problems:
        print(f"{path}: Job rules of the API server that schemas cannot express: hold")
    ok = ok and not problems
    kubectl = shutil.which("kubectl")
    if kubectl:
        r = subprocess.run(
            [kubectl, "create", "--dry-run=client", "--validate=false", "-o", "name", "-f", path],
            capture_output=True, text=True)
        if r.returncode != 0 and ("server API group list" in r.stderr or "connection refused" in r.stderr):
            print(f"{path}: kubectl client dry run skipped: kubectl {kubectl_version(kubectl)} maps kinds "
                  "through a server's API discovery even with --dry-run=client, and none is reachable")
        elif r.returncode != 0:
            print(f"{path}: kubectl client dry run failed: {r.stderr.strip()}")
            ok = False
        else:
            print(f"{path}: kubectl create --dry-run=client parses it: {r.stdout.strip()}")
    else:
        print(f"{path}: kubectl not installed: client dry run skipped")
    return ok


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    args = sys.argv[1:]
    paths = [a for a in args if a != "--self-test"] or [os.path.join(root, "Tests/Golden/sweep/sweep-job.yaml")]
    if "--self-test" in args and not self_test(paths[0]):
        sys.exit(1)
    for path in paths:
        if not check(path):
            sys.exit(1)
    print("not checked: admission (quotas, PodSecurity, webhooks), that the image, PVC and data exist, "
          "scheduling — no cluster is reachable here")


if __name__ == "__main__":
    main()

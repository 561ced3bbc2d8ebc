#!/usr/bin/env bash
# `sam validate --lint` and `sam build` without a container, then checks what the build produced:
#   - ApiFunction carries no ReportLab and no pyHanko; RendererFunction carries both, VerifyFunction
#     pyHanko and PyJWT; DeliveryFunction carries standardwebhooks and urllib3;
#   - the common layer is python/{roomsnap,aws_lambda_powertools,pydantic,pydantic_core,cachetools} and
#     python/snapshot_restore_py.py (no python/python nesting), and every native library in the build is built for the template's
#     architecture (arm64 -> aarch64 ELF) and the runtime's Python (cpython-312).
#
# SAM CLI pins its own boto3, cfn-lint and translator, so it gets a virtualenv of its own (.venv-sam),
# reinstalled only when requirements-sam.txt changes. A no-container build of a python3.12 function
# runs pip under a python3.12 interpreter, so one must be on PATH (here: pyenv's, when there is no
# python3.12 on PATH already). For arm64, SAM's pip step downloads manylinux aarch64 wheels
# (--platform), which works on x86_64 as long as every native dependency publishes such wheels.
#
# Usage: scripts/sam_build_check.sh            (from anywhere; works in the repository root)
# Env:   PYTHON=python3 (makes .venv-sam), SAM_BUILD_FLAGS="--no-cached" (extra flags for sam build)
set -euo pipefail
cd "$(dirname "$0")/.."

export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" AWS_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
VENV=.venv-sam
PYTHON="${PYTHON:-python3}"
started=$(date +%s)

if [ ! -x "$VENV/bin/sam" ] || ! cmp -s requirements-sam.txt "$VENV/.requirements-sam.txt"; then
  echo "== creating $VENV (aws-sam-cli from requirements-sam.txt)"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  # (this machine's pip.conf names local extra indexes that may not exist: drop pip's noise about them)
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-sam.txt 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  cp requirements-sam.txt "$VENV/.requirements-sam.txt"
fi
# Keep the virtualenv out of git even without a .gitignore entry (as Python 3.13's venv does itself).
printf '*\n' > "$VENV/.gitignore"
SAM="$VENV/bin/sam"
"$SAM" --version

# The runtime's interpreter, for the no-container build (Lambda's python3.12 -> python3.12).
RUNTIME_PY=python3.12
if ! "$RUNTIME_PY" --version >/dev/null 2>&1; then
  found=""
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do
    if [ -x "$candidate" ] && "$candidate" --version >/dev/null 2>&1; then found="$candidate"; fi
  done
  if [ -z "$found" ]; then
    echo "FAIL: sam build without a container needs a python3.12 interpreter on PATH (the functions' runtime)." >&2
    exit 1
  fi
  export PATH="$(dirname "$found"):$PATH"
fi
echo "runtime interpreter: $(command -v "$RUNTIME_PY") ($("$RUNTIME_PY" --version))"

echo "== sam validate --lint"
"$SAM" validate --lint --template-file template.yaml --region "$AWS_DEFAULT_REGION"

echo "== sam build (no container)"
# shellcheck disable=SC2086  # SAM_BUILD_FLAGS is a list of flags
"$SAM" build --template-file template.yaml --build-dir .aws-sam/build --region "$AWS_DEFAULT_REGION" ${SAM_BUILD_FLAGS:-}

echo "== checking .aws-sam/build"
"$VENV/bin/python" - <<'PY'
import re
import sys
from pathlib import Path

from samtranslator.yaml_helper import yaml_parse

BUILD = Path(".aws-sam/build")
ELF_MACHINE = {"arm64": 183, "x86_64": 62}  # e_machine: EM_AARCH64, EM_X86_64
problems: list[str] = []

sam = yaml_parse(Path("template.yaml").read_text())
resources = sam["Resources"]
globals_fn = sam.get("Globals", {}).get("Function", {})


def fn_setting(logical_id, key, default=None):
    return resources[logical_id].get("Properties", {}).get(key, globals_fn.get(key, default))


def native_libraries(folder: Path):
    for path in folder.rglob("*.so*"):
        if path.is_file():
            head = path.read_bytes()[:20]
            if head[:4] == b"\x7fELF":
                yield path, int.from_bytes(head[18:20], "little")


def check_native(folder: Path, architecture: str, runtime: str) -> int:
    want = ELF_MACHINE[architecture]
    tag = "cpython-" + runtime.replace("python", "").replace(".", "")
    count = 0
    for path, machine in native_libraries(folder):
        count += 1
        if machine != want:
            problems.append(f"{path}: ELF machine {machine}, expected {want} ({architecture})")
        match = re.search(r"\.(cpython-\d+)", path.name)
        if match and match.group(1) != tag:
            problems.append(f"{path}: built for {match.group(1)}, the runtime is {runtime} ({tag})")
    return count


def expect(condition, message):
    if not condition:
        problems.append(message)


functions = {k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
layers = {k for k, v in resources.items() if v["Type"] == "AWS::Serverless::LayerVersion"}
for logical_id in sorted(functions | layers):
    expect((BUILD / logical_id).is_dir(), f"{BUILD / logical_id} was not built")

# The API must stay light: ReportLab (and Pillow) only in the renderer.
api, renderer = BUILD / "ApiFunction", BUILD / "RendererFunction"
expect(not (api / "reportlab").exists(), "ApiFunction carries reportlab")
expect(not (api / "PIL").exists(), "ApiFunction carries Pillow")
expect((renderer / "reportlab").is_dir(), "RendererFunction has no reportlab")
# The delivery signs with standardwebhooks and connects with its own pinned urllib3; nobody else needs them.
delivery = BUILD / "DeliveryFunction"
expect((delivery / "standardwebhooks").is_dir(), "DeliveryFunction has no standardwebhooks")
expect((delivery / "urllib3").is_dir(), "DeliveryFunction has no urllib3")
expect(not (api / "standardwebhooks").exists(), "ApiFunction carries standardwebhooks")
# pyHanko signs in the renderer and checks signatures in the verify function; the API never loads it.
verifier = BUILD / "VerifyFunction"
for signer in (renderer, verifier):
    expect((signer / "pyhanko").is_dir(), f"{signer.name} has no pyhanko")
expect(not (api / "pyhanko").exists(), "ApiFunction carries pyhanko")
expect((verifier / "jwt").is_dir(), "VerifyFunction has no PyJWT")
for function in sorted(functions):
    module = fn_setting(function, "Handler").rpartition(".")[0]
    expect((BUILD / function / f"{module.replace('.', '/')}.py").is_file(), f"{function} has no {module} module")
    for shared in ("aws_lambda_powertools", "pydantic", "pydantic_core", "cachetools", "roomsnap"):
        expect(not (BUILD / function / shared).exists(), f"{function} duplicates the layer's {shared}")

# The layer: Lambda puts /opt/python on sys.path, so packages must sit directly in python/.
layer_python = BUILD / "CommonLayer" / "python"
for package in ("roomsnap", "aws_lambda_powertools", "pydantic", "pydantic_core", "cachetools"):
    expect((layer_python / package).is_dir(), f"{layer_python / package} missing")
expect((layer_python / "snapshot_restore_py.py").is_file(), "the layer lacks SnapStart's runtime hooks module")
expect(not (layer_python / "python").exists(), f"{layer_python}/python exists: the layer is nested one level too deep")
expect(any((layer_python / "pydantic_core").glob("_pydantic_core*.so")), "pydantic_core has no compiled extension")

# Every native library matches the architecture and Python of the resource it was built for.
for logical_id in sorted(functions):
    architecture = fn_setting(logical_id, "Architectures", ["x86_64"])[0]
    n = check_native(BUILD / logical_id, architecture, fn_setting(logical_id, "Runtime"))
    print(f"{logical_id}: {n} native libraries, {architecture}")
for logical_id in sorted(layers):
    properties = resources[logical_id]["Properties"]
    metadata = resources[logical_id].get("Metadata", {})
    architecture = metadata.get("BuildArchitecture", properties.get("CompatibleArchitectures", ["x86_64"])[0])
    runtime = metadata.get("BuildMethod") or properties["CompatibleRuntimes"][0]
    n = check_native(BUILD / logical_id, architecture, runtime)
    print(f"{logical_id}: {n} native libraries, {architecture}")
    expect(n > 0, f"{logical_id}: no native libraries found (pydantic_core should have one)")

if problems:
    print("FAIL:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print("build output OK")
PY
echo "== sam build check passed in $(( $(date +%s) - started ))s"

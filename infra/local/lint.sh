#!/usr/bin/env bash
# Lints the Rust code (rustfmt, clippy, unused dependencies by cargo-machete, licenses, bans and
# sources by cargo-deny), the SAM template
# (cfn-lint, checkov), the state machine definitions (asl-validator) and the API description's
# examples (check_openapi.py), with the linters `install.sh lint` pins into $ICP_CACHE.
# Every check runs; each prints its findings, and the script exits non-zero if any check failed.
# Findings that cannot apply are skipped in the template itself, each with its reason.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

# Installed by install.sh (which names the same directories).
CFN_LINT="$ICP_CACHE/cfn-lint-venv/bin/cfn-lint"
CFN_LINT_PYTHON="$ICP_CACHE/cfn-lint-venv/bin/python" # with PyYAML and jsonschema
CHECKOV="$ICP_CACHE/checkov-venv/bin/checkov"
ASL_VALIDATOR="$ICP_CACHE/npm-lint/node_modules/.bin/asl-validator"
CARGO_MACHETE="$ICP_CACHE/cargo-tools/bin/cargo-machete"
CARGO_DENY="$ICP_CACHE/cargo-tools/bin/cargo-deny"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ICP_CACHE/target}

TEMPLATE=infra/template.yaml

for tool in "$CFN_LINT" "$CHECKOV" "$ASL_VALIDATOR" "$CARGO_MACHETE"; do
  [[ -x $tool ]] || { echo "lint.sh: $tool is missing: run 'infra/local/install.sh lint' (or 'make lint')" >&2; exit 1; }
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

failed=()
# check NAME COMMAND...: runs one check and records whether it failed.
check() {
  local name=$1 start=$SECONDS
  shift
  echo "lint: $name" >&2
  if "$@"; then
    echo "lint: $name: ok ($((SECONDS - start))s)" >&2
  else
    echo "lint: $name: FAILED" >&2
    failed+=("$name")
  fi
}

# checkov leaves out resources whose Condition is false with the parameters' defaults, which
# would hide the authority simulator. So it scans a copy that defaults the simulator to on: the
# same file otherwise, at the same relative path, so its lines and paths match the template.
checkov_all_resources() {
  mkdir -p "$WORK/checkov/infra"
  sed '/^  IncludeAuthoritySimulator:$/,/^  [A-Za-z]/ s/^    Default: "false"$/    Default: "true"/' \
    "$TEMPLATE" >"$WORK/checkov/$TEMPLATE"
  if cmp -s "$TEMPLATE" "$WORK/checkov/$TEMPLATE"; then
    echo "lint.sh: could not default IncludeAuthoritySimulator to \"true\" in a copy of $TEMPLATE" >&2
    return 1
  fi
  # --skip-download: no calls to the vendor's platform (this machine has no internet anyway).
  (cd "$WORK/checkov" && "$CHECKOV" -f "$TEMPLATE" --framework cloudformation --quiet --compact --skip-download)
}

# Each statemachine/*.asl.yaml, as the template deploys it: its ${...} placeholders must be exactly
# the DefinitionSubstitutions of the state machine resource whose DefinitionS3Location names it,
# and the definition (as JSON, anchors expanded) is validated with each placeholder replaced by a
# dummy ARN, as CloudFormation would.
asl_definitions() {
  local definition result=0
  mkdir -p "$WORK/asl/statemachine"
  "$CFN_LINT_PYTHON" - "$TEMPLATE" "$WORK/asl" statemachine/*.asl.yaml <<'EOF' || result=1
import json, os, re, sys
import yaml  # cfn-lint's; the intrinsic functions' tags (!Ref, !GetAtt...) are read as null

yaml.SafeLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
template_path, out_dir, definitions = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(template_path) as f:
    resources = yaml.safe_load(f).get("Resources", {})
used = {}  # definition path -> (state machine resource, its substitution names)
for name, resource in resources.items():
    props = resource.get("Properties", {})
    uri = props.get("DefinitionS3Location")
    if resource.get("Type") == "AWS::StepFunctions::StateMachine" and isinstance(uri, str):
        path = os.path.relpath(os.path.join(os.path.dirname(template_path), uri))
        used[path] = (name, set(props.get("DefinitionSubstitutions", {})))
ok = True
for path in definitions:
    with open(path) as f:
        text = f.read()
    placeholders = set(PLACEHOLDER.findall(text))
    if path not in used:
        print(f"{path}: no state machine in {template_path} uses it", file=sys.stderr)
        ok = False
    else:
        resource, substitutions = used[path]
        for name in sorted(placeholders - substitutions):
            print(f"{path}: ${{{name}}} is not in {resource}'s DefinitionSubstitutions", file=sys.stderr)
            ok = False
        for name in sorted(substitutions - placeholders):
            print(f"{path}: {resource}'s DefinitionSubstitutions has {name}, which it never uses", file=sys.stderr)
            ok = False
    with open(os.path.join(out_dir, path.removesuffix(".yaml") + ".json"), "w") as f:
        as_json = json.dumps(yaml.safe_load(text))
        f.write(PLACEHOLDER.sub(r"arn:aws:lambda:us-east-1:123456789012:function:\1", as_json))
sys.exit(0 if ok else 1)
EOF
  echo "  (each \${...} placeholder replaced by a dummy ARN)" >&2
  for definition in statemachine/*.asl.yaml; do
    definition=${definition%.yaml}.json
    (cd "$WORK/asl" && "$ASL_VALIDATOR" --json-path "$definition") || result=1
  done
  return $result
}

check "rustfmt" cargo fmt --all -- --check
check "clippy" cargo clippy --workspace --all-targets -- -D warnings
check "the domain's module order (no circle)" cargo test --quiet -p icp-domain --test module_order
check "unused dependencies (cargo-machete)" "$CARGO_MACHETE"
# Advisories are left out: their database cannot be fetched here (see deny.toml).
check "licenses, bans, sources (cargo-deny, deny.toml)" "$CARGO_DENY" --log-level error check bans licenses sources
check "cfn-lint ($TEMPLATE)" "$CFN_LINT" -- "$TEMPLATE"
check "checkov ($TEMPLATE)" checkov_all_resources
check "asl-validator (statemachine/*.asl.yaml)" asl_definitions
check "OpenAPI examples (infra/openapi.yaml)" "$CFN_LINT_PYTHON" "$LOCAL_DIR/check_openapi.py" infra/openapi.yaml
check "the README (250 lines, links inside the repository)" python3 "$LOCAL_DIR/check_readme.py"

if ((${#failed[@]})); then
  echo "lint: FAILED: ${#failed[@]} check(s):" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "lint: all checks passed" >&2

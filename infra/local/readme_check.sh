#!/usr/bin/env bash
# `make test`, on the stack it brought up: runs the README's walkthrough as written — every `sh`
# block from "Try it" to the error codes, in order, in one shell — and checks that the request it
# submits ends `completed`. Keeps the README's commands true.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

script=$(awk '
  /^Try it:/ { on = 1 }
  /^Error codes/ { on = 0 }
  on && /^```sh$/ { inblock = 1; next }
  inblock && /^```$/ { inblock = 0; next }
  inblock { print }
' README.md)
[[ -n $script ]] || { echo "readme_check.sh: no walkthrough blocks found in README.md" >&2; exit 1; }
output=$(bash -euo pipefail -c "$script")
echo "$output" | tail -n 3 >&2
[[ $(echo "$output" | tail -n 1) == completed ]] ||
  { echo "readme_check.sh: the README's walkthrough did not end with a completed request" >&2; exit 1; }
echo "readme: the walkthrough's request completed" >&2

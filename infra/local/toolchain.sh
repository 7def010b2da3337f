#!/usr/bin/env bash
# Makes the Rust toolchain rust-toolchain.toml pins available to rustup: already installed, or
# installed by rustup (with the internet), or else, offline, the installed stable linked under
# the pinned name when it is that very version. Any other stable is refused: the pin would lie.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
channel=$(sed -nE 's/^channel = "([^"]+)"/\1/p' "$ROOT/rust-toolchain.toml")
[[ -n $channel ]] || { echo "toolchain.sh: no channel in rust-toolchain.toml" >&2; exit 1; }

if rustup toolchain list | grep -q "^$channel-"; then
  exit 0
fi
echo "toolchain: Rust $channel (rust-toolchain.toml) is not installed" >&2
if rustup toolchain install "$channel" --profile minimal --component rustfmt,clippy >&2 2>/dev/null; then
  exit 0
fi
# Offline: the stable toolchain, if it is the pinned version, stands in under the pinned name.
stable=$(cd / && rustc +stable --version 2>/dev/null | awk '{print $2}')
if [[ $stable == "$channel" ]]; then
  rustup toolchain link "$channel" "$(cd / && rustc +stable --print sysroot)"
  echo "toolchain: linked the installed stable ($stable) as $channel" >&2
  exit 0
fi
echo "toolchain.sh: cannot install Rust $channel (offline?) and the installed stable is ${stable:-missing}." >&2
echo "  Install it with: rustup toolchain install $channel --component rustfmt,clippy" >&2
exit 1

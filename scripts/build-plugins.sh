#!/usr/bin/env bash
# Builds every guest plugin from source into components: the Rust examples
# and fixtures with the SDK, and the C example. Prints the folder holding
# the components (AEGIS_PLUGIN_BUILD_DIR, by default under ~/.cache/aegis).
#
# Rust guests use a rustup wasm32 target when one is installed; otherwise
# Debian's rustc-web builds the standard library for wasm32 itself
# (-Zbuild-std), which is what these machines have.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out="${AEGIS_PLUGIN_BUILD_DIR:-$HOME/.cache/aegis/plugins}"
target_dir="${AEGIS_PLUGIN_TARGET_DIR:-$HOME/.cache/aegis/plugins-target}"
mkdir -p "$out"

bash scripts/install-plugin-toolchain.sh
log() { echo "[build-plugins] $*" >&2; }

# Rust: one build of the guest workspace, then each cdylib wrapped as a component.
cd "$root/plugins"
if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "cargo (rustup wasm32 target)"
  cargo build --quiet --locked --release --target wasm32-unknown-unknown --target-dir "$target_dir" >&2
else
  log "cargo (Debian rustc-web, -Zbuild-std)"
  RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
    /usr/bin/cargo build --quiet --locked --release --target wasm32-unknown-unknown \
    -Zbuild-std=std,panic_abort --target-dir "$target_dir" >&2
fi
for crate in blue-review-overdue markdown-report hostile; do
  core="$target_dir/wasm32-unknown-unknown/release/${crate//-/_}.wasm"
  wasm-tools component new "$core" -o "$out/$crate.wasm"
done

# C: bindings from the same WIT, compiled with clang for wasm32-wasi as a
# reactor; the plugin touches no stdio, so the component imports no WASI.
c_build="$target_dir/regression-c"
rm -rf "$c_build" && mkdir -p "$c_build"
wit-bindgen c wit/v0.1 --world alert-rule-plugin --out-dir "$c_build" >/dev/null
clang --target=wasm32-wasi -mexec-model=reactor -Os -Wall -Werror \
  -I "$c_build" examples/regression-c/regression.c "$c_build"/alert_rule_plugin.c \
  "$c_build"/alert_rule_plugin_component_type.o -o "$c_build/regression.core.wasm"
wasm-tools component new "$c_build/regression.core.wasm" -o "$out/regression-c.wasm"

for component in "$out"/*.wasm; do wasm-tools validate --features component-model "$component"; done
log "components in $out: $(cd "$out" && ls *.wasm | tr '\n' ' ')"
echo "$out"

#!/usr/bin/env bash
# Installs what building WebAssembly plugins needs on these machines, once:
# Debian's rustc-web with its library source (the rustup toolchains have no
# wasm32 standard library), lld, clang and wasi-libc for C guests, and
# wasm-tools and wit-bindgen-cli from crates.io. Each step is skipped when
# its tool is already there.
set -euo pipefail
if [[ $(id -u) -eq 0 ]]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

need_apt=()
[[ -x /usr/bin/rustc && -d /usr/lib/rustlib/src ]] || need_apt+=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)
command -v clang >/dev/null 2>&1 && [[ -d /usr/lib/wasm32-wasi ]] || need_apt+=(clang lld wasi-libc libclang-rt-14-dev-wasm32)
if ((${#need_apt[@]})); then
  echo "[plugin-toolchain] apt: ${need_apt[*]}" >&2
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
fi
for tool in wasm-tools wit-bindgen; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    crate=$tool; [[ $tool == wit-bindgen ]] && crate=wit-bindgen-cli
    echo "[plugin-toolchain] cargo install $crate" >&2
    cargo install --locked --quiet "$crate" >&2
  fi
done

#!/usr/bin/env bash
# Installs the system packages amp-convert's tests and WebGPU runtime need, on Debian bookworm.
# Idempotent: does nothing that is already done. Needs root (CI and dev machines run as root).
# Why backports: Dawn (npm `webgpu`) rejects bookworm's Mesa 22; Mesa 25 lavapipe works and has shader-f16.
set -euo pipefail
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
. /etc/os-release 2>/dev/null || true
if [ "${VERSION_CODENAME:-}" != "bookworm" ]; then
  echo "setup-system: not Debian bookworm (${PRETTY_NAME:-unknown}); install a Vulkan driver with shader-f16 and python3-onnx yourself" >&2
  exit 0
fi
need=()
mesa_ver=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
case "$mesa_ver" in 2[5-9]*|[3-9]*) ;; *) need+=(mesa);; esac
dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q "ok installed" || need+=(vulkan)
dpkg-query -W -f='${Status}' python3-onnx 2>/dev/null | grep -q "ok installed" || need+=(onnx)
# Debian's chromium renders the HTML reports headless in tests (playwright-core drives it).
dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "ok installed" || need+=(chromium)
# Fashion-MNIST for the training check (train-check --data fashion-mnist).
dpkg-query -W -f='${Status}' dataset-fashion-mnist 2>/dev/null | grep -q "ok installed" || need+=(fashion)
if [ ${#need[@]} -eq 0 ]; then echo "setup-system: Vulkan loader, Mesa $mesa_ver and python3-onnx present"; exit 0; fi
src=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -f "$src" ]; then
  # Use the same mirror the machine's existing sources use.
  mirror=$(grep -h '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1 | awk '{print $2}')
  [ -n "$mirror" ] || mirror=$(grep -hoE 'https?://[^ ]+/debian/?' /etc/apt/sources.list 2>/dev/null | head -1)
  [ -n "$mirror" ] || mirror="http://deb.debian.org/debian"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" | $SUDO tee "$src" >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends libvulkan1 python3-onnx python3-numpy chromium dataset-fashion-mnist >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
echo "setup-system: installed Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers), libvulkan1, python3-onnx, chromium, dataset-fashion-mnist"

#!/usr/bin/env bash
# One-shot set-up on a fresh machine: system packages (Vulkan/Mesa for WebGPU, python3-onnx for the
# checker), npm dependencies from the lockfile, and the TypeScript build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
# onnxruntime-node ships its CPU binaries in the package; its postinstall would download, so skip it.
# No other dependency needs an install script (webgpu ships Dawn prebuilt).
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --ignore-scripts --no-audit --no-fund
npm run build

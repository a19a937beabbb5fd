#!/usr/bin/env bash
# Installs what Volet needs on Debian/Ubuntu: the Debian packages that are missing, then the npm dependencies.
# Usage: scripts/setup.sh [--runtime]   (--runtime skips the packages only the tests need)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(ffmpeg)
if [ "${1:-}" != "--runtime" ]; then
  # The tests' RTSP camera (GStreamer RTSP server via python3-gi), browser (Chromium), and the egress
  # test's tools (strace records every connection; ip brings up loopback in a network namespace), and the
  # MQTT tests' broker (mosquitto, started by the tests on 127.0.0.1).
  packages+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
             gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly chromium strace iproute2 mosquitto)
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# onnxruntime-node's install script downloads CUDA files; Volet uses the CPU build shipped in the package.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci

# The detector model is fetched now, at install time: Volet itself never downloads anything.
# With VOLET_MODELS_DIR set, that folder is the user's to fill.
if [ -z "${VOLET_MODELS_DIR:-}" ] && [ ! -f models/yolox_nano.onnx ]; then
  if ! node bin/volet.js models fetch yolox_nano; then
    echo "warning: the detector model could not be downloaded (offline?). Volet will not start without it:" >&2
    echo "         run 'npx volet models fetch yolox_nano' once you are online." >&2
  fi
fi

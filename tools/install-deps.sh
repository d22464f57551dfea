#!/usr/bin/env bash
# Installs the Debian packages fcs builds and tests with, when missing (run as root). The Swift
# toolchain itself comes from swift.org.
set -euo pipefail
packages=(libopenblas-dev zlib1g-dev pkg-config make gcc libvips-dev libvips-tools libcurl4-openssl-dev python3-venv)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
fi

#!/usr/bin/env bash
# Installs the reference implementations the benchmarks and science tests compare against, from Debian:
# PyTorch CPU (python3-torch) and scikit-learn (python3-sklearn), for /usr/bin/python3. Idempotent.
set -euo pipefail
if /usr/bin/python3 -c 'import torch, sklearn' 2>/dev/null; then exit 0; fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3-torch python3-sklearn >/dev/null
/usr/bin/python3 -c 'import torch, sklearn; print("torch", torch.__version__, "sklearn", sklearn.__version__)'

# Sourced by scripts/demo and scripts/test: installs what is missing, idempotently.
#   - Debian packages (tesseract with Vietnamese, poppler, qpdf, Redis, fonts)
#   - the virtual environment .venv with sohoa and its test tools
# Nothing here starts a service; `sohoa stack up` does, on loopback only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

APT_PACKAGES=(tesseract-ocr tesseract-ocr-vie poppler-utils qpdf redis-server libsane1 libsane-dev sane-utils
              fonts-liberation2 fonts-dejavu-core python3-venv python3-dev gcc tzdata)
# scripts/test adds what only the tests use (rabbitmq-server: they start RabbitMQ nodes of their own).
APT_PACKAGES+=(${TEST_APT_PACKAGES[@]+"${TEST_APT_PACKAGES[@]}"})
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # Debian starts a package's system service on install; sohoa runs its own on loopback and needs none,
  # so starts are refused for the while (policy-rc.d), unless the machine already has such a policy.
  # A subshell, so that the policy goes whichever way the install ends (Ctrl-C included).
  (
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
      printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
      $SUDO chmod 755 /usr/sbin/policy-rc.d
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  )
  if [[ " ${missing[*]} " == *" rabbitmq-server "* ]] && [ -d /run/systemd/system ]; then
    # Left enabled, RabbitMQ and its port mapper would listen on every interface after the next boot.
    $SUDO systemctl disable --now rabbitmq-server.service epmd.socket epmd.service >/dev/null 2>&1 || true
  fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.sohoa-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing sohoa and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  echo "$want" > "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"

#!/usr/bin/env bash
# Install the Debian 12 packages Kinerja needs to build, run and test.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang clang-format
  libzmq3-dev libhiredis-dev libmsgpack-dev libpq-dev
  libinih-dev libjansson-dev libcmocka-dev libcurl4-openssl-dev libmicrohttpd-dev libsodium-dev libqrencode-dev
  redis-server postgresql-15 postgresql-client-15
  python3 python3-zmq python3-msgpack python3-psycopg2
  procps util-linux
  systemd logrotate groff-base man-db python3-yaml
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The browser tests (tests/browser, SPEC 12) drive Debian's chromium with playwright-core
# on Node.js >= 20 (the machine's own; Debian 12's nodejs is 18): install Debian's only
# when there is no node at all, so a newer one is never replaced.
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The Debian packages start system-wide redis and postgresql services where an init
# system runs; Kinerja never uses them (it runs its own under ./var), so keep them off.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"

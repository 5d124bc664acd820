#!/bin/sh
# Installs the Debian 12 packages carerecon needs, when any is missing.
set -eu
need=""
for p in build-essential pkg-config libxlsxwriter-dev libcsv-dev libyaml-dev \
         libsqlite3-dev libssl-dev sqlite3 python3-openpyxl tzdata; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need="$need $p"
done
[ -z "$need" ] && exit 0
echo "carerecon: installing:$need" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null

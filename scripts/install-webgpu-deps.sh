#!/usr/bin/env bash
# Mesa's software Vulkan driver (lavapipe) for the WGSL numeric tests, on Debian bookworm.
# Stock bookworm Mesa (22.3) gives Dawn no adapter, so the driver comes from
# bookworm-backports (Mesa 25.x); see docs/wgsl.md. Idempotent: re-running changes nothing.
# Backports reuses the URIs of the image's own Debian entry, so no host is named here.
set -euo pipefail

PKGS=(mesa-vulkan-drivers libvulkan1)
LIST=/etc/apt/sources.list.d/debian.sources
BACKPORTS=/etc/apt/sources.list.d/convgen-bookworm-backports.sources

# already there: the lavapipe ICD of a backports Mesa (>= 23)
have_lavapipe() {
  local v
  v=$(dpkg-query -W -f='${Status} ${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [[ $v == "install ok installed "* ]] || return 1
  v=${v##* }
  [[ ${v%%.*} =~ ^[0-9]+$ ]] && (( ${v%%.*} >= 23 )) && dpkg-query -W libvulkan1 >/dev/null 2>&1
}

if have_lavapipe; then
  echo "install-webgpu-deps: lavapipe already installed ($(dpkg-query -W -f='${Version}' mesa-vulkan-drivers))"
  exit 0
fi
if [[ $(id -u) != 0 ]]; then
  echo "install-webgpu-deps: needs root (apt-get); run: sudo bash $0" >&2
  exit 1
fi
if ! grep -qs 'bookworm' /etc/os-release; then
  echo "install-webgpu-deps: expected Debian bookworm; install a Vulkan driver (Mesa >= 23 lavapipe) by hand" >&2
  exit 1
fi

if [[ ! -f $BACKPORTS ]]; then
  # the URIs of the main Debian entry (the one whose Suites list plain `bookworm`)
  uris=$(awk '
    /^[[:space:]]*$/ { if (u != "" && main) { print u; exit } u = ""; main = 0; next }
    /^URIs:/ { u = $0; sub(/^URIs:[[:space:]]*/, "", u) }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") main = 1 }
    END { if (u != "" && main) print u }' "$LIST" | head -n1)
  if [[ -z $uris ]]; then
    echo "install-webgpu-deps: no main bookworm entry with URIs in $LIST" >&2
    exit 1
  fi
  cat >"$BACKPORTS" <<SRC
Types: deb
URIs: $uris
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends -t bookworm-backports "${PKGS[@]}"
echo "install-webgpu-deps: installed $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"

#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages visor's tests use, when missing.
set -euo pipefail
need=()
check() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
check tshark tshark
check editcap wireshark-common
check tcpdump tcpdump
check knotd knot
check kdig knot-dnsutils
check unbound unbound
check dnsperf dnsperf
check fstrm_capture fstrm-bin
check dnstap-read bind9-dnsutils
check ip iproute2
check ethtool ethtool
check jq jq
check curl curl
check /usr/bin/time time
check dumpcap wireshark-common
[ -e /usr/lib/x86_64-linux-gnu/knot/modules-3.2/dnstap.so ] || [ -n "$(ls /usr/lib/*/knot/modules-*/dnstap.so 2>/dev/null)" ] || need+=(knot-module-dnstap)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "scripts/deps.sh: need root to install: ${need[*]}" >&2
  exit 1
fi
echo "scripts/deps.sh: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

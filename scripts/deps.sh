#!/usr/bin/env bash
# Installs, with apt-get (one update, only when something is missing), the
# Debian packages visor's tests use: the lab tier's servers, clients and
# capture tools (internal/lab; docs/labs.md), the attack and tunnel tools of
# the findings corpus, the browser of the HTML report test, the multi-host
# tools of the merge test, and the tools bench.sh uses.
# Running it again installs nothing.
set -euo pipefail
need=()
# program (or file) -> package; GNU parallel is found by its sem (moreutils has
# another program called parallel, which GNU parallel's package diverts)
while read -r prog pkg; do
	case $prog in
	/*) [ -e "$prog" ] || need+=("$pkg") ;;
	*) command -v "$prog" >/dev/null 2>&1 || need+=("$pkg") ;;
	esac
done <<'LIST'
ip iproute2
ss iproute2
ethtool ethtool
knotd knot
kdig knot-dnsutils
unbound unbound
dnsperf dnsperf
tcpdump tcpdump
tshark tshark
dumpcap wireshark-common
editcap wireshark-common
mergecap wireshark-common
capinfos wireshark-common
fstrm_capture fstrm-bin
dnstap-read bind9-dnsutils
jq jq
curl curl
/usr/bin/time time
tmux tmux
iodined iodine
dns2tcpd dns2tcp
hping3 hping3
dnsdist dnsdist
iptables iptables
dnscap dnscap
chromium chromium
sem parallel
rsync rsync
/usr/sbin/sshd openssh-server
ssh openssh-client
openssl openssl
node nodejs
npm npm
LIST
# knotd's dnstap module (mod-dnstap) is a package of its own
compgen -G '/usr/lib/*/knot/modules-*/dnstap.so' >/dev/null || need+=(knot-module-dnstap)
if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" != 0 ]; then
	echo "scripts/deps.sh: need root to install: ${need[*]}" >&2
	exit 1
fi
echo "scripts/deps.sh: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

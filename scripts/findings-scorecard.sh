#!/usr/bin/env bash
# The findings scorecard (issue 18; docs/findings-scorecard.md): makes the
# evaluation corpus with real tools in the lab's network namespaces (root:
# dnsperf, iodine, dns2tcp, hping3, knotd, unbound), analyses every capture
# with --bucket 1s, 10s, 1m and 5m, prints the scorecard and writes it into
# docs/findings-scorecard.md. Exits non-zero when a row misses.
#
#   scripts/findings-scorecard.sh                  make the corpus (about 5 min) and score it
#   scripts/findings-scorecard.sh --keep DIR       ... and keep it: DIR/NAME/{capture.pcap,truth.json}
#   scripts/findings-scorecard.sh --corpus DIR     score a kept corpus (no root, seconds)
#   scripts/findings-scorecard.sh --only RE        make only the scenarios matching RE
#   scripts/findings-scorecard.sh --bin FILE       score with this visor binary
#   scripts/findings-scorecard.sh --label TEXT     what the scorecard calls it ("commit f7ac7df")
#   scripts/findings-scorecard.sh --no-doc         print only
#
# Everything happens in TestFindingsCorpus (internal/lab/scenarios/corpus_test.go);
# this script only passes the options on.
set -euo pipefail
cd "$(dirname "$0")/.."
doc=docs/findings-scorecard.md
while [ $# -gt 0 ]; do
	case "$1" in
	--keep) export VISOR_CORPUS_OUT=$(realpath -m "$2"); mkdir -p "$VISOR_CORPUS_OUT"; shift 2 ;;
	--corpus) export VISOR_CORPUS_IN=$(realpath "$2"); shift 2 ;;
	--only) export VISOR_CORPUS_ONLY=$2; shift 2 ;;
	--bin) export VISOR_BIN=$(realpath "$2"); shift 2 ;;
	--label) export VISOR_BIN_LABEL=$2; shift 2 ;;
	--no-doc) doc=; shift ;;
	*) sed -n '2,18p' "$0" >&2; exit 2 ;;
	esac
done
[ -n "$doc" ] && export VISOR_SCORECARD=$PWD/$doc
if [ -z "${VISOR_CORPUS_IN:-}" ] && [ "$(id -u)" != 0 ]; then
	echo "findings-scorecard: making the corpus needs root (network namespaces); --corpus DIR scores a kept one" >&2
	exit 2
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
rc=0
go test -tags lab -count=1 -timeout 20m -run '^TestFindingsCorpus$' -v ./internal/lab/scenarios >"$log" 2>&1 || rc=$?
# the scorecard is what the test printed from "Scored" to the end of its misses
sed -n '/^Scored /,/^=== \|^--- \|^    corpus_test/p' "$log" | sed '/^=== \|^--- \|^    corpus_test/d'
if [ "$rc" != 0 ]; then
	grep -E '^\s*(--- FAIL|\S+_test\.go:[0-9]+: .*(not made|timed out|ended:|dropped packets|cannot|no such|carried|missing|error|failed))|^(FAIL|panic)' "$log" | head -20 >&2 || true
	grep -q '^Scored ' "$log" || tail -40 "$log" >&2
	# the whole log, for what the lines above do not say
	cp "$log" "${TMPDIR:-/tmp}/findings-scorecard.log" && echo "findings-scorecard: the test's log is ${TMPDIR:-/tmp}/findings-scorecard.log" >&2
fi
grep -q '^Scored ' "$log" || doc=
echo "findings-scorecard: $((SECONDS - start)) s, exit $rc${doc:+, written to $doc}" >&2
exit "$rc"

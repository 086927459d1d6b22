#!/usr/bin/env bash
# Checks that `pz report` pages render in a real browser: builds pz, writes a
# report of the synthetic fixture runs (orchestrator/report/testdata: a
# PretrainZero run, a random-span run and a comparison.json), loads each page
# in headless Chromium (installed with apt-get if absent), checks the DOM it
# sees, and leaves full-page screenshots to look at.
#
#   bash scripts/check-report.sh [OUT_DIR]    (default: a new temporary folder)
#
# Prints the screenshots' paths. Exit status 0 when every check passed.
set -euo pipefail

cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d -t pz-report-check.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
td=orchestrator/report/testdata

fail() { echo "check-report: FAIL: $*" >&2; exit 1; }

if ! command -v chromium >/dev/null 2>&1; then
	echo "check-report: installing chromium with apt-get" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

go build -o "$out/pz" ./cmd/pz

# The demo's layout: one folder per arm, the comparison table beside them.
rm -rf "$out/demo"
mkdir -p "$out/demo/pretrainzero" "$out/demo/random-span"
cp "$td/metrics.jsonl" "$out/demo/pretrainzero/metrics.jsonl"
cp "$td/random-span.jsonl" "$out/demo/random-span/metrics.jsonl"
cp "$td/comparison.json" "$out/demo/comparison.json"
# A run killed mid-write: its last line is cut off.
printf '{"step":31,"rollout":{"gener' >>"$out/demo/pretrainzero/metrics.jsonl"

single=$("$out/pz" report "$out/demo/pretrainzero")
[ "$single" = "$out/demo/pretrainzero/report/report.html" ] || fail "single-run report printed '$single'"
both=$("$out/pz" report "$out/demo/pretrainzero" "$out/demo/random-span" --out "$out/compare/compare.html")
[ "$both" = "$out/compare/compare.html" ] || fail "comparison report printed '$both'"

for page in "$single" "$both"; do
	[ -s "$page" ] || fail "$page is missing or empty"
	dir=$(dirname "$page")
	stem=$(basename "$page" .html)
	n=$(find "$dir" -name "$stem-*.png" | wc -l)
	[ "$n" -ge 15 ] || fail "$dir has $n PNG charts, want at least 15"
done

chrome() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run \
		--user-data-dir="$(mktemp -d)" "$@" 2>/dev/null
}

i=0
for page in "$single" "$both"; do
	i=$((i + 1))
	# What the browser parsed: every chart and table made it into the DOM.
	dom=$(chrome --dump-dom "file://$page")
	charts=$(grep -o '<svg [^>]*class="chart"' <<<"$dom" | wc -l)
	[ "$charts" -ge 16 ] || fail "$page: the browser saw $charts charts, want at least 16"
	grep -q 'Top spans of the last step' <<<"$dom" || fail "$page: no top-spans table in the DOM"
	grep -q 'Held-out accuracy' <<<"$dom" || fail "$page: no held-out table in the DOM"
	grep -q '<polyline points=' <<<"$dom" || fail "$page: no curves in the DOM"
	shot="$out/screenshot-$i.png"
	rm -f "$shot"
	chrome --screenshot="$shot" --window-size=1400,4400 "file://$page" >/dev/null
	[ "$(stat -c %s "$shot" 2>/dev/null || echo 0)" -gt 100000 ] || fail "$shot is missing or nearly blank"
	echo "$shot  ($page)"
done
echo "check-report: ok" >&2

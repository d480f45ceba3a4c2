#!/usr/bin/env bash
# The crmhub demo in one command: a small contact center's calls and chats become records in the
# built-in `local` CRM (a SQLite file), with every record-creation rule switched on.
#
#   bash scripts/demo.sh
#
# Needs Python 3.11+ (`python3`, or the interpreter named by $PYTHON) and access to PyPI. It
# creates .venv (if missing), installs crmhub into it, then, with examples/crmhub.toml:
#   0. explains the settings (crmhub config check),
#   1. replays examples/events-history.jsonl (sessions of the days before),
#   2. closes the records listed in examples/closes.txt, as agents did,
#   3. replays examples/events.jsonl (the day: 2026-11-24, 08:00-18:00 UTC),
#   4. lists the records.
# Outcomes, state and records go to examples/out/, which is emptied first: every run starts clean.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
    echo "== creating .venv with $PYTHON"
    "$PYTHON" -m venv .venv
fi
echo "== installing crmhub into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .

crmhub() { .venv/bin/python -m crmhub "$@"; }
CONFIG=examples/crmhub.toml
OUT=examples/out
rm -rf "$OUT"
mkdir -p "$OUT"

echo
echo "== 0. the settings: crmhub config check $CONFIG"
crmhub config check "$CONFIG"

echo
echo "== 1. the days before: crmhub replay examples/events-history.jsonl"
crmhub replay examples/events-history.jsonl --config "$CONFIG" --output "$OUT/history-outcomes.jsonl"

echo
echo "== 2. agents close records: crmhub records close ID --at TIME"
while read -r record_id closed_at; do
    if [[ -z "$record_id" || "$record_id" == \#* ]]; then
        continue
    fi
    crmhub records close "$record_id" --at "$closed_at" --config "$CONFIG"
done < examples/closes.txt

echo
echo "== 3. the day: crmhub replay examples/events.jsonl"
crmhub replay examples/events.jsonl --config "$CONFIG" --output "$OUT/outcomes.jsonl"

echo
echo "== 4. the records: crmhub records"
crmhub records --config "$CONFIG"

echo
echo "Outcomes (one JSON object per event): $OUT/history-outcomes.jsonl and $OUT/outcomes.jsonl"
echo "Records as JSON Lines: .venv/bin/crmhub records --json --config $CONFIG"

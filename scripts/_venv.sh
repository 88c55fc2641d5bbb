# Sourced by scripts/demo and scripts/test: a project virtual environment, created on first use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# The test and otel extras: CI runs the OpenTelemetry test too (tests/test_otel.py).
EXTRAS=test,otel
stamp=.venv/.installed-$( (cat pyproject.toml; echo "$EXTRAS") | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
  .venv/bin/python -m pip install --quiet -e ".[$EXTRAS]"
  rm -f .venv/.installed-* && touch "$stamp"
fi

#!/usr/bin/env bash
# Create (idempotently) .venv-focus: a Python 3.12 venv with the official FOCUS
# validator, used by tests/integration/test_local_bill_focus.py to check the local
# cloud's bill. Prints the venv's path on stdout (progress goes to stderr).
#
#   scripts/focus-validator-venv.sh            # -> /path/to/repo/.venv-focus
#   FOCUS_VENV=/elsewhere scripts/focus-validator-venv.sh
#
# Why two pip steps: focus-validator pins numpy<2, but with numpy<2 its own pyarrow
# import fails, so numpy>=2 is installed afterwards (pip warns about the pin; the
# self-check at the end proves the validator imports and runs).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FOCUS_VENV:-$REPO_ROOT/.venv-focus}"
FOCUS_VALIDATOR_VERSION="${FOCUS_VALIDATOR_VERSION:-2.2.1}"
STAMP="$VENV/.installed-$FOCUS_VALIDATOR_VERSION"

# Python 3.12 exactly: focus-validator 2.x needs >= 3.12, and its numpy<2 pin has no
# wheels for 3.13 (the first install step would try to build numpy from source).
find_python312() {
    local candidate
    for candidate in "${FOCUS_PYTHON:-}" python3.12 \
                     "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
        # A pyenv shim exists even when it cannot run, so try each one.
        if [[ -n "$candidate" ]] && command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
            command -v "$candidate"
            return
        fi
    done
    echo "focus-validator-venv: no python3.12 found (install one, or set FOCUS_PYTHON)" >&2
    exit 1
}

if [[ -f "$STAMP" && -x "$VENV/bin/focus-validator" ]]; then
    echo "$VENV"
    exit 0
fi

PYTHON="$(find_python312)"
echo "focus-validator-venv: creating $VENV with $PYTHON" >&2
"$PYTHON" -m venv --clear "$VENV"  # no stamp: start from scratch
"$VENV/bin/python" -m pip install --quiet "focus-validator==$FOCUS_VALIDATOR_VERSION" >&2
"$VENV/bin/python" -m pip install --quiet "numpy>=2,<3" >&2
# Self-check: the package imports (numpy/pyarrow agree) and the CLI answers.
"$VENV/bin/python" -c 'import focus_validator, pyarrow, numpy' >&2
"$VENV/bin/focus-validator" --help >/dev/null
touch "$STAMP"
echo "$VENV"

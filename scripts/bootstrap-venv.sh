#!/bin/sh
# Create the project's virtual environment. On a fresh Debian, `python3 -m venv` needs the
# python3-venv package (it carries ensurepip); install it with apt-get when we may, otherwise
# say exactly what to run.
set -eu
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
    echo "error: Python 3.11 or newer is needed ($PYTHON is $("$PYTHON" -V 2>&1))" >&2
    exit 1
}
if [ -x "$VENV/bin/pip" ]; then
    exit 0
fi
if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "python venv support is missing: installing python3-venv with apt-get" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        "$PYTHON" -m venv "$VENV"
    else
        echo "error: '$PYTHON -m venv' failed; install it with: sudo apt-get install python3-venv" >&2
        exit 1
    fi
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip

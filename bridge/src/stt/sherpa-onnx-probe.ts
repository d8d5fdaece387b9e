// Run by SherpaOnnxEngine.checkReady() in a child process: loads the model and decodes 0.2 s of
// silence. onnxruntime aborts the process on a file it cannot parse; here that costs only this child,
// and its stderr explains why. Argument: the recognizer config as JSON. Exit 0: the model works.
import { loadSherpaOnnx } from "./sherpa-onnx.ts";

const config: unknown = JSON.parse(process.argv[2] ?? "null");
const sherpa = loadSherpaOnnx();
const recognizer = new sherpa.OnlineRecognizer(config);
const stream = recognizer.createStream();
stream.acceptWaveform({ samples: new Float32Array(3200), sampleRate: 16_000 });
stream.inputFinished();
while (recognizer.isReady(stream)) recognizer.decode(stream);
recognizer.getResult(stream);

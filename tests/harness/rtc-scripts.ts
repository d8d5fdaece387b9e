// The LiveKit participants the test bed runs as child processes (JSON lines on stdout, see
// json-line-script.ts): a speaker playing a recording into a call, a listener reporting subtitles.
import { fileURLToPath } from "node:url";

export const RTC_SPEAKER_SCRIPT = fileURLToPath(new URL("./rtc-speaker.ts", import.meta.url));
export const RTC_SUBTITLE_RECEIVER_SCRIPT = fileURLToPath(new URL("./rtc-subtitle-receiver.ts", import.meta.url));

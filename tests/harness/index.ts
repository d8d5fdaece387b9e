// The test bed's public entry (package @visio/testbed): what the demo and the benchmarks use to stand
// up the servers (Synapse, LiveKit, the appservices, the client) and to drive them as users would.
export type { AppserviceProcess, PreparedAppservice } from "./appservice.ts";
export { prepareAppservice, startAppserviceProcess, withFocus, withSettings } from "./appservice.ts";
export { buildClient } from "./client-build.ts";
export { serveStatic, type StaticServer } from "./client-server.ts";
export { followJsonLines, type JsonLineProcess, type JsonReport } from "./json-line-process.ts";
export { matrixRequest } from "./matrix-client.ts";
export { createMeeting, joinAlias, requestFocusToken } from "./matrix-users.ts";
export type { Host, Topology } from "./network.ts";
export { HOSTS, LOOPBACK_HOSTS } from "./network.ts";
export { assertPortsFree, portsOf, PortsInUseError } from "./ports.ts";
export type { ManagedProcess, RestartPolicy } from "./processes.ts";
export { startPostgres, tableRows, type PostgresServer } from "./postgres.ts";
export { chooseFrenchClips, FRENCH_CALL_CLIPS, FRENCH_CALL_MAX_WER } from "./speech/french-speech.ts";
export { MEETING_SENTENCES, synthesizeRecording, type SpeechRecording } from "./speech/festival-speech.ts";
export { recordMeeting } from "./speech/recorded-speech.ts";
export { timeSubtitles } from "./subtitle-timing.ts";
export type { LiveKitServer, RegisteredUser, Servers, SynapseServer } from "./testbed.ts";
export { startServers, toolsFromEnvironment } from "./testbed.ts";
export { RTC_SPEAKER_SCRIPT, RTC_SUBTITLE_RECEIVER_SCRIPT } from "./rtc-scripts.ts";
export { readTranscriptThread, spokenText } from "./transcript-thread.ts";
export { waitUntil } from "./wait.ts";
export { workerConfig } from "./worker-config.ts";

// The transcription worker in tests: its config file, the worker process in a ministry's namespace,
// and what the appservice does around it (post the "Transcription started" thread root, dispatch the
// job to the agent name, send the stop message through LiveKit's server API), so that the bridge is
// tested against the real LiveKit agent dispatch and the real homeserver.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { AgentDispatchClient, DataPacket_Kind, RoomServiceClient } from "livekit-server-sdk";
import {
  TRANSCRIBER_AGENT_NAME,
  TRANSCRIPTION_CONTROL_TOPIC,
  TRANSCRIPT_SESSION_KEY,
  type TranscriptionControlMessage,
  type TranscriptionJobMetadata,
  type TranscriptSessionFields,
} from "../../config/wire-types.ts";
import type { AppserviceProcess } from "../harness/appservice.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { LiveKitServer, SfuMinistryName, SynapseServer, Testbed, WhisperServerOnHost } from "../harness/testbed.ts";
import { workerConfig } from "../harness/worker-config.ts";
import { uniqueLocalpart } from "../harness/testbed.ts";
import { followJsonLines, type JsonLineProcess } from "../harness/json-line-process.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const WORKER_ENTRY = join(REPO_ROOT, "bridge/src/worker.ts");

export interface WorkerSetup {
  livekit: LiveKitServer;
  homeserver: SynapseServer;
  /** The ministry's Whisper server (the test bed's, in the same namespace as the worker). */
  whisper: WhisperServerOnHost;
  /** The worker's own appservice token (the appservice process's `transcriber`). */
  asToken: string;
  userId: string;
  maxJobs: number;
  models?: string[];
}

export async function writeWorkerConfig(dir: string, setup: WorkerSetup): Promise<string> {
  // The homeserver's client listener, reachable from inside the namespace where the worker runs.
  const config = workerConfig({ ...setup, homeserverUrl: setup.homeserver.clientUrl });
  const path = join(dir, `worker-${uniqueLocalpart("config")}.yaml`);
  await writeFile(path, yaml.dump(config), { mode: 0o600 });
  return path;
}

export function spawnWorker(testbed: Testbed, namespace: string, configPath: string, logName: string): JsonLineProcess {
  return followJsonLines(testbed.spawnInNamespace(namespace, process.execPath, [WORKER_ENTRY, "--config", configPath], { logName, cwd: REPO_ROOT }));
}

/** The Matrix user the ministry's transcription bridge posts as. */
export const bridgeUserOf = (appservice: AppserviceProcess, ministry: SfuMinistryName): string =>
  `@${appservice.config.transcription.bridge_localpart}:${HOSTS[ministry].serverName}`;

/**
 * A ministry's worker as its appservice would have it run: its LiveKit, homeserver and Whisper server,
 * the appservice's transcriber token and bridge user, one job at a time, in the ministry's namespace.
 */
export async function startMinistryWorker(testbed: Testbed, ministry: SfuMinistryName, appservice: AppserviceProcess, dir: string, logName: string): Promise<JsonLineProcess> {
  const config = await writeWorkerConfig(dir, {
    livekit: testbed.livekit[ministry],
    homeserver: testbed.ministries[ministry],
    whisper: testbed.whisper[ministry],
    asToken: appservice.transcriber.asToken,
    userId: bridgeUserOf(appservice, ministry),
    maxJobs: 1,
  });
  return spawnWorker(testbed, HOSTS[ministry].namespace, config, logName);
}

/** As the appservice bot (the as_token without user_id): the thread root; returns the job metadata. */
export async function postThreadRoot(homeserver: SynapseServer, asToken: string, roomId: string, session: TranscriptSessionFields): Promise<TranscriptionJobMetadata> {
  const startedAt = Date.now();
  const { event_id } = await matrixRequest<{ event_id: string }>(
    homeserver.clientUrl,
    asToken,
    "PUT",
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${uniqueLocalpart("root")}`,
    { msgtype: "m.notice", body: "Transcription started", [TRANSCRIPT_SESSION_KEY]: session },
  );
  return { room_id: roomId, language: session.language, engine: session.engine, started_at: startedAt, thread_root: event_id };
}

export async function dispatchTranscription(livekit: LiveKitServer, room: string, metadata: TranscriptionJobMetadata): Promise<string> {
  const dispatches = new AgentDispatchClient(livekit.controlUrl, livekit.apiKey, livekit.apiSecret);
  const dispatch = await dispatches.createDispatch(room, TRANSCRIBER_AGENT_NAME, { metadata: JSON.stringify(metadata) });
  return dispatch.id;
}

/** The stop message, from LiveKit's server API (no participant sends it). */
export async function sendStop(livekit: LiveKitServer, room: string): Promise<void> {
  const message: TranscriptionControlMessage = { action: "stop" };
  const rooms = new RoomServiceClient(livekit.controlUrl, livekit.apiKey, livekit.apiSecret);
  await rooms.sendData(room, new TextEncoder().encode(JSON.stringify(message)), DataPacket_Kind.RELIABLE, { topic: TRANSCRIPTION_CONTROL_TOPIC });
}

/** Downloads an mxc:// URI through the authenticated media API, as a client does. */
export async function downloadMedia(homeserver: SynapseServer, accessToken: string, mxc: string): Promise<{ contentType: string; text: string }> {
  const match = /^mxc:\/\/([^/]+)\/([^/]+)$/.exec(mxc);
  if (match === null) throw new Error(`not an mxc URI: ${mxc}`);
  const [, server = "", mediaId = ""] = match;
  const res = await fetch(`${homeserver.clientUrl}/_matrix/client/v1/media/download/${encodeURIComponent(server)}/${encodeURIComponent(mediaId)}`, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new Error(`downloading ${mxc}: HTTP ${res.status} ${await res.text()}`);
  return { contentType: res.headers.get("content-type") ?? "", text: await res.text() };
}

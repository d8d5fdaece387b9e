// LiveKit's server SDK (and the protocol definitions it brings, several MB once loaded) is needed only
// when a call or a token request reaches LiveKit: an idle appservice does not load it. The clients
// built here load it and construct the SDK's own client on their first call, and use it ever after.
import type { AgentDispatchClient, ClientOptions, RoomServiceClient, SendDataOptions, WebhookEvent } from "livekit-server-sdk";
import type { DataPacket_Kind } from "@livekit/protocol";
import type * as LiveKitSdkModule from "livekit-server-sdk";

type LiveKitSdk = typeof LiveKitSdkModule;

let sdk: Promise<LiveKitSdk> | undefined;

/** The SDK, loaded on first use. */
export const liveKitSdk = (): Promise<LiveKitSdk> => (sdk ??= import("livekit-server-sdk"));

/** Whether a LiveKit API call failed because LiveKit has no such room, participant or dispatch. */
export async function isLiveKitNotFound(err: unknown): Promise<boolean> {
  // Only the SDK throws its ServerError: anything else is answered without loading it.
  if (!(err instanceof Error)) return false;
  const { ServerError } = await liveKitSdk();
  return err instanceof ServerError && (err.code === "not_found" || err.status === 404);
}

/** The room API calls the appservice makes (sendData in its options form). */
export interface LiveKitRoomApi
  extends Pick<RoomServiceClient, "listRooms" | "createRoom" | "listParticipants" | "removeParticipant" | "deleteRoom" | "mutePublishedTrack"> {
  sendData(room: string, data: Uint8Array, kind: DataPacket_Kind, options: SendDataOptions): Promise<void>;
}

/** One instance of the SDK's client, made on first use. */
function onFirstUse<T>(make: (sdk: LiveKitSdk) => T): () => Promise<T> {
  let client: Promise<T> | undefined;
  return () => (client ??= liveKitSdk().then(make));
}

export function lazyRoomService(host: string, apiKey: string, apiSecret: string, options?: ClientOptions): LiveKitRoomApi {
  const client = onFirstUse((lk) => new lk.RoomServiceClient(host, apiKey, apiSecret, options));
  return {
    listRooms: async (names) => (await client()).listRooms(names),
    createRoom: async (options) => (await client()).createRoom(options),
    listParticipants: async (room) => (await client()).listParticipants(room),
    removeParticipant: async (room, identity) => (await client()).removeParticipant(room, identity),
    deleteRoom: async (room) => (await client()).deleteRoom(room),
    mutePublishedTrack: async (room, identity, trackSid, muted) => (await client()).mutePublishedTrack(room, identity, trackSid, muted),
    sendData: async (room, data, kind, options) => (await client()).sendData(room, data, kind, options),
  };
}

export type LiveKitAgentDispatchApi = Pick<AgentDispatchClient, "createDispatch" | "deleteDispatch" | "listDispatch">;

export function lazyAgentDispatch(host: string, apiKey: string, apiSecret: string, options?: ClientOptions): LiveKitAgentDispatchApi {
  const client = onFirstUse((lk) => new lk.AgentDispatchClient(host, apiKey, apiSecret, options));
  return {
    createDispatch: async (room, agentName, options) => (await client()).createDispatch(room, agentName, options),
    deleteDispatch: async (dispatchId, room) => (await client()).deleteDispatch(dispatchId, room),
    listDispatch: async (room) => (await client()).listDispatch(room),
  };
}

/** Verifies and decodes LiveKit's webhooks, signed with one of its API keys. */
export function lazyWebhookReceiver(apiKey: string, apiSecret: string): { receive(body: string, authHeader?: string): Promise<WebhookEvent> } {
  const receiver = onFirstUse((lk) => new lk.WebhookReceiver(apiKey, apiSecret));
  return { receive: async (body, authHeader) => (await receiver()).receive(body, authHeader) };
}

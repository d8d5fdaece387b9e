// The bridge's own LiveKit token. The bridge runs beside its ministry's LiveKit and holds its API key,
// so it mints its token itself rather than asking the focus (which only serves Matrix members).
import { AccessToken } from "livekit-server-sdk";

export interface BridgeTokenOptions {
  apiKey: string;
  apiSecret: string;
  room: string;
  identity: string;
  /** Shown by LiveKit's server API; never to callers, since the participant is hidden. */
  name: string;
  ttlSeconds?: number;
}

export async function mintBridgeToken(options: BridgeTokenOptions): Promise<string> {
  const token = new AccessToken(options.apiKey, options.apiSecret, {
    identity: options.identity,
    name: options.name,
    ttl: options.ttlSeconds ?? 6 * 3600,
  });
  token.addGrant({
    room: options.room,
    roomJoin: true,
    // The room is the call's: the bridge must never bring an ended call back to life.
    roomCreate: false,
    // Hidden: no tile and no entry in the participant lists of clients; the subtitles say who speaks.
    hidden: true,
    canPublish: false,
    canPublishData: true,
    canSubscribe: true,
  });
  return token.toJwt();
}

// The appservice's control messages to a transcribing bridge: data packets on TRANSCRIPTION_CONTROL_TOPIC.
// Participants can send data on any topic too, so only packets from LiveKit's server API (which the
// appservice uses, and no participant can) are obeyed.
import { TRANSCRIPTION_CONTROL_TOPIC, type TranscriptionControlMessage } from "../../../config/wire-types.ts";

export type ControlDecision = { action: "none" } | { action: "ignore"; reason: string } | TranscriptionControlMessage;

export function readControlMessage(payload: Uint8Array, topic: string | undefined, fromServer: boolean): ControlDecision {
  if (topic !== TRANSCRIPTION_CONTROL_TOPIC) return { action: "none" };
  if (!fromServer) return { action: "ignore", reason: "sent by a participant, not the server" };
  let message: unknown;
  try {
    message = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    return { action: "ignore", reason: "not JSON" };
  }
  if (typeof message === "object" && message !== null && (message as Partial<TranscriptionControlMessage>).action === "stop") return { action: "stop" };
  return { action: "ignore", reason: "not a known control message" };
}

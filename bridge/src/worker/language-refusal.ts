// A job in a language that no model of this worker covers is refused in the thread, in the meeting's
// language, with the configured models: people see why nothing is transcribed, and the appservice,
// reading the notice's fields, stops the transcription rather than let it say "started" while nothing runs.
import { TRANSCRIBER_NOTICE_KEY, type TranscriberNoticeFields, type TranscriptionJobMetadata } from "../../../config/wire-types.ts";
import type { MatrixClient } from "../matrix/matrix-client.ts";
import { threadRelation } from "../matrix/transcript-poster.ts";
import { transcriptTexts } from "../transcript/transcript-texts.ts";

export async function refuseLanguage(
  matrix: Pick<MatrixClient, "sendEvent">,
  metadata: TranscriptionJobMetadata,
  bridgeUserId: string,
  reason: string,
): Promise<void> {
  const serverName = bridgeUserId.slice(bridgeUserId.indexOf(":") + 1);
  const fields: TranscriberNoticeFields = { state: "refused", server_name: serverName, language: metadata.language, reason };
  const content = {
    msgtype: "m.notice",
    body: transcriptTexts(metadata.language).refused(serverName, metadata.language, reason),
    "m.relates_to": threadRelation(metadata.thread_root),
    [TRANSCRIBER_NOTICE_KEY]: fields,
  };
  // One refusal per session: a job dispatched again posts the same notice once.
  await matrix.sendEvent(metadata.room_id, "m.room.message", content, `visio-transcript.refused.${metadata.started_at}`);
}

// The metadata of a transcription dispatch (TranscriptionJobMetadata, set by the appservice), checked
// by the worker before it accepts the job: a job it cannot place in a Matrix thread is refused, with a reason.
import { z } from "zod";
import { languageTagSchema } from "./transcription-fields.ts";
import type { TranscriptionJobMetadata } from "./wire-types.ts";

const metadataSchema = z.object({
  // No ":server" required: room version 12 IDs have none.
  room_id: z.string().regex(/^!./, "must be a Matrix room ID (!…)"),
  language: languageTagSchema,
  // Any name: the room state may keep what an older bridge called its engine.
  engine: z.string().min(1),
  started_at: z.number().int().positive(),
  thread_root: z.string().regex(/^\$./, "must be a Matrix event ID ($…)"),
  recording: z
    .object({
      url: z.string().regex(/^mxc:\/\/[^/]+\/[^/]+$/, "must be an mxc:// URI"),
      filename: z.string().min(1).max(255),
      size: z.number().int().nonnegative().optional(),
    })
    .optional(),
}) satisfies z.ZodType<TranscriptionJobMetadata>;

export class JobMetadataError extends Error {
  override name = "JobMetadataError";
}

export function parseJobMetadata(raw: string): TranscriptionJobMetadata {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new JobMetadataError("job metadata is not JSON");
  }
  const result = metadataSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "metadata"}: ${issue.message}`);
    throw new JobMetadataError(`job metadata: ${problems.join("; ")}`);
  }
  return result.data;
}

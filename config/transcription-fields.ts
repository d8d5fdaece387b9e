// What the appservice and the transcription bridge must agree on, in their configs and on the wire:
// how a meeting's language is written and which speech-to-text engines there are.
import { z } from "zod";

/** A BCP 47 language tag (en, fr-FR), or "und": the engine detects the language. */
export const LANGUAGE_TAG = /^(?:[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{2,8})*|und)$/;
/** Longest language tag accepted (RFC 5646's advice for a tag buffer). */
export const MAX_LANGUAGE_LENGTH = 35;
export const LANGUAGE_TAG_PROBLEM = "must be a BCP 47 language tag such as en or fr-FR, or und";

export const languageTagSchema = z.string().max(MAX_LANGUAGE_LENGTH, LANGUAGE_TAG_PROBLEM).regex(LANGUAGE_TAG, LANGUAGE_TAG_PROBLEM);

/** The bridge's speech-to-text engines: the bridge's stt.engine, and what the appservice records of it. */
export const ENGINE_NAMES = ["pocketsphinx", "openai", "kyutai", "sherpa-onnx"] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export const engineNameSchema = z.enum(ENGINE_NAMES);

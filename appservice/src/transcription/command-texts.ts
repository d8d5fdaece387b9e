// The bot's replies to `!transcribe` commands, in the server's language (French or English): what was
// not done, and why in plain words. A refusal without a known reason keeps the API's own sentence.
import type { MatrixError, Refusal } from "../errors.ts";
import { isFrench } from "./transcription-texts.ts";

export type CommandAction = "start" | "stop" | "recording" | "unknown";

export interface CommandTexts {
  notDone(action: CommandAction): string;
  usage: string;
  serviceFailed: string;
  reason(refusal: Refusal): string;
}

type Reasons = { [R in Refusal["reason"]]: (params: Record<string, string | number>) => string };

const frenchReasons: Reasons = {
  server_not_allowed: () => "votre serveur ne fait pas partie des ministères autorisés par ce service",
  not_joined: () => "il faut être dans la réunion",
  power_level: (p) => `il faut le niveau de droits ${p.required} dans cette réunion (vous avez ${p.level})`,
  already_transcribed: () => "cette réunion est déjà transcrite",
  not_transcribed: () => "cette réunion n'est pas transcrite",
  command_usage: () => frenchUsage,
  bad_language: (p) => `« ${p.language} » n'est pas une langue (par exemple fr, en ou fr-FR)`,
  not_a_recording: () => "ce message n'est pas un enregistrement audio ou vidéo",
  encrypted_recording: () => "cet enregistrement est chiffré de bout en bout : le service de transcription ne peut pas le lire",
  no_media: () => "cet enregistrement n'a pas de fichier",
  recording_too_large: (p) => `cet enregistrement dépasse ${p.mib} Mio, le maximum du service de transcription`,
  no_such_message: () => "ce message n'existe pas dans cette réunion",
};

const englishReasons: Reasons = {
  server_not_allowed: () => "your server is not one of the ministries this service allows",
  not_joined: () => "you need to be in the meeting",
  power_level: (p) => `it needs power level ${p.required} in this meeting (you have ${p.level})`,
  already_transcribed: () => "this meeting is already being transcribed",
  not_transcribed: () => "this meeting is not being transcribed",
  command_usage: () => englishUsage,
  bad_language: (p) => `"${p.language}" is not a language (for example fr, en or fr-FR)`,
  not_a_recording: () => "this message is not an audio or video recording",
  encrypted_recording: () => "this recording is end-to-end encrypted: the transcription service cannot read it",
  no_media: () => "this recording has no file",
  recording_too_large: (p) => `this recording is larger than ${p.mib} MiB, the most the transcription service takes`,
  no_such_message: () => "there is no such message in this meeting",
};

const frenchUsage =
  "utilisation : « !transcribe start [langue] » démarre la transcription, « !transcribe stop » l'arrête, « !transcribe [langue] » en réponse à un enregistrement audio ou vidéo le transcrit";
const englishUsage =
  'usage: "!transcribe start [language]" starts the transcription, "!transcribe stop" stops it, "!transcribe [language]" in a reply to an audio or video recording transcribes it';

const french: CommandTexts = {
  notDone: (action) =>
    ({ start: "Transcription non démarrée", stop: "Transcription non arrêtée", recording: "Enregistrement non transcrit", unknown: "Transcription inchangée" })[action],
  usage: frenchUsage,
  serviceFailed: "le service a échoué, réessayez",
  reason: (refusal) => frenchReasons[refusal.reason](refusal.params ?? {}),
};

const english: CommandTexts = {
  notDone: (action) =>
    ({ start: "Transcription not started", stop: "Transcription not stopped", recording: "Recording not transcribed", unknown: "Transcription not changed" })[action],
  usage: englishUsage,
  serviceFailed: "the service failed, please try again",
  reason: (refusal) => englishReasons[refusal.reason](refusal.params ?? {}),
};

export function commandTexts(language: string): CommandTexts {
  return isFrench(language) ? french : english;
}

/** The reply to a refused command: "<what was not done> : <why>" (French typography puts a space before the colon). */
export function refusalReply(language: string, action: CommandAction, error: MatrixError): string {
  const texts = commandTexts(language);
  const why = error.refusal === undefined ? error.message : texts.reason(error.refusal);
  return `${texts.notDone(action)}${isFrench(language) ? " : " : ": "}${why}`;
}

export function failureReply(language: string, action: CommandAction): string {
  const texts = commandTexts(language);
  return `${texts.notDone(action)}${isFrench(language) ? " : " : ": "}${texts.serviceFailed}`;
}

// What the bridge writes for people, in the meeting's language: French for a French meeting, English
// otherwise. The transcript itself is what the model heard; these are the words around it (file names,
// headings, notices).
import { languageCode } from "../stt/engine.ts";

export interface TranscriptTexts {
  /** Start of the transcript files' names: `<stem>-2026-11-28-0915Z.vtt`. */
  fileStem: string;
  title: string;
  recordingTitle(filename: string): string;
  started(iso: string): string;
  duration(seconds: number): string;
  language(tag: string): string;
  engine(name: string): string;
  model(name: string): string;
  noSpeech: string;
  machineTranscription: string;
  interrupted(engine: string, reason: string): string;
  resumed(lost: number): string;
  /** Transcript messages the homeserver did not take; the files at the end have them. */
  messagesLost(lost: number, reason: string): string;
  recordingFailed(filename: string, reason: string): string;
  /** Why a recording could not be transcribed (the detail is the error's, never what was said). */
  tooLarge(mib: number): string;
  notDownloaded(detail: string): string;
  undecodable: string;
  /** A video without a sound track. */
  soundless: string;
  engineFailed(detail: string): string;
  noModel(detail: string): string;
  /** The meeting's language is one no model of this worker covers. */
  refused(server: string, language: string, reason: string): string;
}

const french: TranscriptTexts = {
  fileStem: "transcription",
  title: "Transcription",
  recordingTitle: (filename) => `Transcription de ${filename}`,
  started: (iso) => `Début : ${iso}`,
  duration: (seconds) => `Durée : ${seconds.toFixed(1).replace(".", ",")} s`,
  language: (tag) => `Langue : ${tag}`,
  engine: (name) => `Moteur : ${name}`,
  model: (name) => `Modèle : ${name}`,
  noSpeech: "Aucune parole n'a été reconnue.",
  machineTranscription: "Transcription automatique : elle peut contenir des erreurs.",
  interrupted: (engine, reason) =>
    `Transcription interrompue : le moteur de reconnaissance vocale (${engine}) est en panne (${reason}). Ce qui est dit pendant ce temps n'est pas transcrit ; la transcription reprend dès son retour.`,
  resumed: (lost) =>
    `Transcription reprise : le moteur de reconnaissance vocale est de retour. ${lost === 0 ? "Aucun énoncé n'a été perdu" : lost === 1 ? "1 énoncé a été perdu" : `${lost} énoncés ont été perdus`} entre-temps.`,
  messagesLost: (lost, reason) =>
    `${lost === 1 ? "1 message de transcription n'a pas pu être publié" : `${lost} messages de transcription n'ont pas pu être publiés`} dans ce fil (${reason}) ; les fichiers de transcription de la fin contiendront tout.`,
  recordingFailed: (filename, reason) => `${filename} n'a pas pu être transcrit : ${reason}.`,
  tooLarge: (mib) => `il dépasse ${mib} Mio`,
  notDownloaded: (detail) => `il n'a pas pu être téléchargé (${detail})`,
  undecodable: "son audio n'a pas pu être décodé (formats lus : les fichiers audio et vidéo courants, dont Ogg, Opus, WAV, FLAC, MP3, M4A, MP4 et WebM)",
  soundless: "il n'a pas de piste son",
  engineFailed: (detail) => `le moteur de reconnaissance vocale a échoué (${detail})`,
  noModel: (detail) => `aucun modèle de ce service ne transcrit sa langue (${detail})`,
  refused: (server, language, reason) =>
    `La transcription ne peut pas démarrer : le service de transcription de ${server} n'a aucun modèle pour la langue ${language} (${reason}).`,
};

const english: TranscriptTexts = {
  fileStem: "transcript",
  title: "Transcript",
  recordingTitle: (filename) => `Transcript of ${filename}`,
  started: (iso) => `Started: ${iso}`,
  duration: (seconds) => `Duration: ${seconds.toFixed(1)} s`,
  language: (tag) => `Language: ${tag}`,
  engine: (name) => `Engine: ${name}`,
  model: (name) => `Model: ${name}`,
  noSpeech: "No speech was recognised.",
  machineTranscription: "Machine transcription: expect errors.",
  interrupted: (engine, reason) =>
    `Transcription interrupted: the speech-to-text engine (${engine}) failed (${reason}). What is said meanwhile is not transcribed; transcription resumes when the engine is back.`,
  resumed: (lost) => `Transcription resumed: the speech-to-text engine is back. ${lost} utterance${lost === 1 ? " was" : "s were"} lost meanwhile.`,
  messagesLost: (lost, reason) =>
    `${lost === 1 ? "1 transcript message" : `${lost} transcript messages`} could not be posted in this thread (${reason}); the transcript files at the end will have everything.`,
  recordingFailed: (filename, reason) => `${filename} could not be transcribed: ${reason}.`,
  tooLarge: (mib) => `it is larger than ${mib} MiB`,
  notDownloaded: (detail) => `it could not be downloaded (${detail})`,
  undecodable: "its audio could not be decoded (formats read: the usual audio and video files, among them Ogg, Opus, WAV, FLAC, MP3, M4A, MP4 and WebM)",
  soundless: "it has no sound track",
  engineFailed: (detail) => `the speech-to-text engine failed (${detail})`,
  noModel: (detail) => `no model of this service transcribes its language (${detail})`,
  refused: (server, language, reason) =>
    `Transcription cannot start: the transcription service of ${server} has no model for the language ${language} (${reason}).`,
};

export function transcriptTexts(language: string): TranscriptTexts {
  return languageCode(language) === "fr" ? french : english;
}

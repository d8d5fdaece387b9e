// The bot's transcription notices in the meeting's language: French for a French meeting, English
// otherwise. Clients read the fields beside them; these words are for people.

export interface TranscriptionTexts {
  started: string;
  stopped: string;
  /** Stopped because the bridge's worker has no model for the meeting's language. */
  refused(server: string): string;
  waiting(server: string, recording: boolean): string;
  running(server: string, recording: boolean): string;
  recordingQueued(filename: string, language: string): string;
}

const french: TranscriptionTexts = {
  started: "Transcription démarrée",
  stopped: "Transcription arrêtée",
  refused: (server) => `Transcription arrêtée : le service de transcription de ${server} ne transcrit pas la langue de la réunion.`,
  waiting: (server, recording) =>
    `La transcription ne tourne pas : aucun service de transcription de ${server} n'a pris ${recording ? "l'enregistrement" : "l'appel"}. Elle démarre dès qu'il y en a un.`,
  running: (server, recording) => `La transcription tourne : un service de transcription de ${server} a pris ${recording ? "l'enregistrement" : "l'appel"}.`,
  recordingQueued: (filename, language) => `Transcription de ${filename} (langue : ${language}) : les fichiers WebVTT et Markdown suivront dans ce fil.`,
};

const english: TranscriptionTexts = {
  started: "Transcription started",
  stopped: "Transcription stopped",
  refused: (server) => `Transcription stopped: the transcription service of ${server} does not transcribe the meeting's language.`,
  waiting: (server, recording) =>
    `Transcription is not running: no transcription worker of ${server} has taken ${recording ? "the recording" : "the call"}. It starts as soon as one does.`,
  running: (server, recording) => `Transcription is running: a transcription worker of ${server} has taken ${recording ? "the recording" : "the call"}.`,
  recordingQueued: (filename, language) => `Transcribing ${filename} (language: ${language}): the WebVTT and Markdown files will follow in this thread.`,
};

/** Whether a BCP 47 tag is French ("fr", "fr-FR"): the bot's words are French then, English otherwise. */
export function isFrench(language: string): boolean {
  return (language.split("-")[0] ?? "").toLowerCase() === "fr";
}

export function transcriptionTexts(language: string): TranscriptionTexts {
  return isFrench(language) ? french : english;
}

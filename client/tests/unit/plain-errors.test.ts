// Errors a user reads are plain words of ours, in their language: never the server's or the browser's
// own sentence, never a protocol name.
import assert from "node:assert/strict";
import { ConnectionError, MatrixError } from "matrix-js-sdk";
import { en } from "../../src/i18n/en.ts";
import { fr } from "../../src/i18n/fr.ts";
import { format } from "../../src/i18n/index.ts";
import { asVisioError, reasonOf, type VisioError } from "../../src/services/errors.ts";
import { errorFromResponse } from "../../src/services/visio-api.ts";
import { joinError } from "../../src/stores/rooms.ts";

/** What ErrorMessage.vue shows for an error, in French. */
const shown = (error: VisioError): string =>
  format(fr[error.messageKey], error.reasonKey === null ? error.params : { ...error.params, message: fr[error.reasonKey] });

const PROTOCOL_WORDS = /org\.matrix|msc\d|\bM_[A-Z_]+|MatrixError|errcode|HTTP \d|\[\d{3}\]|livekit|openid|well-known/i;

describe("plain errors", () => {
  it("no message of either language names a protocol, an errcode or an HTTP status", () => {
    for (const [language, messages] of [["fr", fr], ["en", en]] as const) {
      for (const [key, text] of Object.entries(messages)) {
        assert.doesNotMatch(text, PROTOCOL_WORDS, `${language} ${key}: ${text}`);
      }
    }
  });

  it("says why from the errcode, the HTTP status or the browser's error name", () => {
    const matrix = (errcode: string, status: number) => new MatrixError({ errcode, error: "Server sentence in English" }, status);
    assert.equal(reasonOf(matrix("M_FORBIDDEN", 403)), "reason.forbidden");
    assert.equal(reasonOf(matrix("M_LIMIT_EXCEEDED", 429)), "reason.rateLimited");
    assert.equal(reasonOf(matrix("M_UNKNOWN_TOKEN", 401)), "reason.sessionExpired");
    assert.equal(reasonOf(matrix("M_UNKNOWN", 502)), "reason.unreachable");
    assert.equal(reasonOf(new ConnectionError("fetch failed")), "reason.unreachable");
    assert.equal(reasonOf(new TypeError("Failed to fetch")), "reason.unreachable");
    assert.equal(reasonOf(new DOMException("Permission denied", "NotAllowedError")), "reason.mediaDenied");
    assert.equal(reasonOf(new DOMException("Requested device not found", "NotFoundError")), "reason.noDevice");
    assert.equal(reasonOf(new DOMException("Could not start video source", "NotReadableError")), "reason.deviceBusy");
    assert.equal(reasonOf("something"), "reason.unknown");
  });

  it("shows none of the server's sentence, which stays in the error's message for the console", async () => {
    const raw = matrix502();
    const error = asVisioError(raw);
    assert.equal(shown(error), "Erreur : le serveur ne répond pas pour le moment ; réessayez plus tard.");
    assert.match(error.message, /Failed to fetch alias/);

    const refusal = await errorFromResponse(Response.json({ errcode: "M_FORBIDDEN", error: "Requires power level 50 (org.visio.transcription)" }, { status: 403 }), "transcription.failed");
    assert.equal(shown(refusal), "La transcription n'a pas pu changer d'état : vous n'en avez pas le droit dans cette réunion (il faut peut-être être modérateur).");
    assert.match(refusal.message, /power level 50/);
  });

  it("a meeting address on a server that does not answer names that server", () => {
    const error = joinError(matrix502(), "#visio-budget:ministere-typo.test");
    assert.equal(shown(error), "Le serveur de cette réunion, « ministere-typo.test », ne répond pas : vérifiez l'adresse, ou réessayez plus tard.");
    assert.equal(error.retryable, true);
  });
});

function matrix502(): MatrixError {
  return new MatrixError({ errcode: "M_UNKNOWN", error: "Failed to fetch alias" }, 502);
}

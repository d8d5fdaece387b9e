// Searching transcripts: folding (case, accents, ligatures, apostrophes) keeps the original's
// positions, every typed word must be there, and the marks land on the words as written.
import assert from "node:assert/strict";
import { foldText, highlight, matchWords, queryWords } from "../../src/transcript/transcript-search.ts";
import { mergeSessions, searchSessions, type TranscriptLine, type TranscriptSession } from "../../src/transcript/transcript-sessions.ts";

const marked = (text: string, query: string): string =>
  highlight(text, matchWords(text, queryWords(query)))
    .map((piece) => (piece.match ? `[${piece.text}]` : piece.text))
    .join("");

function line(eventId: string, text: string, ts: number, speakerName = "Alice"): TranscriptLine {
  return { eventId, speakerId: "@alice:ministry-a.test", speakerName, text, ts, final: true };
}

describe("transcript search", () => {
  it("folds case, accents, ligatures and typographic apostrophes, keeping where each character came from", () => {
    const folded = foldText("Œuvre ÉTÉ l’été");
    assert.equal(folded.text, "oeuvre ete l'ete");
    assert.equal(folded.starts.length, folded.text.length);
    // "oe" both come from "Œ" (index 0), the "u" from index 1.
    assert.deepEqual([folded.starts[0], folded.ends[0], folded.starts[1], folded.ends[1], folded.starts[2]], [0, 1, 0, 1, 1]);
    // Decomposed input (e + combining accent) folds to one letter, mapped to both code units.
    const decomposed = foldText("e\u0301te");
    assert.equal(decomposed.text, "ete");
    assert.deepEqual([decomposed.starts[0], decomposed.ends[0]], [0, 1]);
  });

  it("takes the query's words, one-letter ones only when nothing longer was typed", () => {
    assert.deepEqual(queryWords("  L’ÉQUIPE, décide! "), ["equipe", "decide"]);
    assert.deepEqual(queryWords("a"), ["a"]);
    assert.deepEqual(queryWords("budget budget"), ["budget"]);
    assert.deepEqual(queryWords(" … , "), []);
  });

  it("finds a line only when every word is in it, in any order, a word matching the start of a longer one", () => {
    const text = "Le budget a été validé hier par l'équipe.";
    assert.equal(marked(text, "VALIDE budget"), "Le [budget] a été [validé] hier par l'équipe.");
    assert.equal(marked(text, "valid"), "Le budget a été [valid]é hier par l'équipe.");
    assert.equal(marked(text, "l’equipe"), "Le budget a été validé hier par l'[équipe].");
    assert.equal(matchWords(text, queryWords("budget refusé")), null, "a missing word: no match");
    assert.equal(matchWords(text, []), null);
  });

  it("marks a ligature and every occurrence, merging overlapping ones", () => {
    assert.equal(marked("Le cœur du cœur", "coeur"), "Le [cœur] du [cœur]");
    assert.equal(marked("Décision décisive", "deci decision"), "[Décision] [déci]sive");
    assert.deepEqual(highlight("rien", null), [{ text: "rien", match: false }]);
  });

  it("searches every session, newest first, and merges the server's lines with the timeline's", () => {
    const older: TranscriptSession = { rootId: "$old", startedAt: 1000, language: "fr", lines: [line("$o1", "Ouverture de la séance.", 1100), line("$o2", "Le budget est adopté.", 1200)] };
    const newerFromServer: TranscriptSession = { rootId: "$new", startedAt: 5000, language: "fr", lines: [line("$n1", "Bonjour", 5100)] };
    const newerInTimeline: TranscriptSession = {
      rootId: "$new",
      startedAt: 5000,
      language: "fr",
      lines: [{ ...line("$n1", "Bonjour à tous, le budget", 5100), final: true }, line("$n2", "Séance levée.", 5300)],
    };
    const sessions = mergeSessions([older, newerFromServer], [newerInTimeline]);
    assert.deepEqual(
      sessions.map((s) => [s.rootId, s.lines.map((l) => l.text)]),
      [
        ["$new", ["Bonjour à tous, le budget", "Séance levée."]],
        ["$old", ["Ouverture de la séance.", "Le budget est adopté."]],
      ],
    );
    assert.deepEqual(
      searchSessions(sessions, "seance").map((m) => m.line.eventId),
      ["$n2", "$o1"],
    );
    assert.deepEqual(
      searchSessions(sessions, "BUDGET").map((m) => [m.session.rootId, m.line.eventId]),
      [
        ["$new", "$n1"],
        ["$old", "$o2"],
      ],
    );
    assert.deepEqual(searchSessions(sessions, "   "), []);
  });
});

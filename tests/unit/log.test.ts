import assert from "node:assert/strict";
import { createLogger } from "../../appservice/src/log.ts";

describe("logger", () => {
  it("never writes secrets, whatever field carries them", () => {
    const lines: string[] = [];
    const log = createLogger("debug", (line) => lines.push(line)).child({ hs_token: "s3cret-hs" });
    log.info("call", { accessToken: "s3cret-at", Authorization: "Bearer s3cret-b", userId: "@a:b" });
    const text = lines.join("");
    assert.doesNotMatch(text, /s3cret/);
    assert.match(text, /"userId":"@a:b"/);
  });

  it("drops what is below its level", () => {
    const lines: string[] = [];
    const log = createLogger("warn", (line) => lines.push(line));
    log.info("hidden");
    log.warn("shown");
    assert.equal(lines.length, 1);
  });
});

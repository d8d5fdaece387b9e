import assert from "node:assert/strict";
import { DEFAULT_CLIENT_CONFIG, loadClientConfig, parseClientConfig } from "../../src/services/client-config.ts";

describe("deployment config (config.json)", () => {
  it("reads matrix_rtc_mode, and keeps the default (compatibility, as Element Call) for what is absent or wrong, saying why", () => {
    assert.deepEqual(parseClientConfig({ matrix_rtc_mode: "matrix_2_0" }), { config: { matrixRtcMode: "matrix_2_0" }, problems: [] });
    assert.deepEqual(parseClientConfig({}), { config: DEFAULT_CLIENT_CONFIG, problems: [] });
    const wrong = parseClientConfig({ matrix_rtc_mode: "legacy" });
    assert.equal(wrong.config.matrixRtcMode, "compatibility");
    assert.match(wrong.problems.join(), /matrix_rtc_mode must be one of compatibility, matrix_2_0/);
    assert.match(parseClientConfig([]).problems.join(), /not a JSON object/);
  });

  it("fetches config.json beside the page; none (404) is the defaults", async () => {
    const asked: string[] = [];
    const serving = (status: number, body: string) => async (url: string): Promise<Response> => {
      asked.push(url);
      return new Response(body, { status, headers: { "content-type": "application/json" } });
    };
    const loaded = await loadClientConfig(serving(200, '{"matrix_rtc_mode":"matrix_2_0"}'), "https://visio.ministry-a.example/app/#/m/x");
    assert.equal(loaded.config.matrixRtcMode, "matrix_2_0");
    assert.deepEqual(asked, ["https://visio.ministry-a.example/app/config.json"]);
    assert.deepEqual(await loadClientConfig(serving(404, "not found"), "https://visio.ministry-a.example/"), { config: DEFAULT_CLIENT_CONFIG, problems: [] });
    assert.match((await loadClientConfig(serving(200, "{nope"), "https://v.example/")).problems.join(), /not JSON/);
    const down = async (): Promise<Response> => Promise.reject(new TypeError("fetch failed"));
    assert.equal((await loadClientConfig(down, "https://v.example/")).config.matrixRtcMode, "compatibility");
  });
});

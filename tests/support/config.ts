// A valid appservice config for tests, with overrides.
import { parseConfig } from "../../config/load.ts";
import type { AppserviceConfig } from "../../config/schema.ts";

export function testConfig(overrides: {
  serverName?: string;
  homeserverUrl?: string;
  port?: number;
  database?: AppserviceConfig["database"];
  allowlist?: string[];
} = {}): AppserviceConfig {
  const serverName = overrides.serverName ?? "ministry-a.test";
  return parseConfig({
    homeserver: { server_name: serverName, url: overrides.homeserverUrl ?? "http://127.0.0.1:1" },
    appservice: {
      url: "http://127.0.0.1:9000",
      port: overrides.port ?? 0,
      as_token: "as-token-for-tests-0123456789abcdefghij",
      hs_token: "hs-token-for-tests-0123456789abcdefghij",
    },
    database: overrides.database ?? { client: "sqlite", filename: ":memory:" },
    federation: { allowlist: overrides.allowlist ?? [serverName, "ministry-b.test"] },
    logging: { level: "error" },
  });
}

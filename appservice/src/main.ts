#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1 --liftoff-only
// visio-appservice: command line of the appservice process.
//   start -c config.yaml                 run the appservice
//   generate --server-name … --homeserver-url … --url … --allow a,b -c config.yaml -r registration.yaml
//   registration -c config.yaml          print the homeserver registration for a config
//   sample-config                        print the documented sample config
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import yaml from "js-yaml";
import { ConfigError, loadConfig, parseConfig } from "../../config/load.ts";
import { renderSampleConfig } from "../../config/sample.ts";
import { start } from "./app.ts";
import { createHomeserverClient } from "./homeserver-client.ts";
import { createLogger } from "./log.ts";
import { generateToken, registrationYaml } from "./registration.ts";

const USAGE = `usage:
  visio-appservice start -c <config.yaml>
  visio-appservice generate --server-name <name> --homeserver-url <url> --url <appservice url>
                            --allow <server,server> -c <config.yaml> -r <registration.yaml>
  visio-appservice registration -c <config.yaml>
  visio-appservice sample-config`;

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      registration: { type: "string", short: "r" },
      "server-name": { type: "string" },
      "homeserver-url": { type: "string" },
      url: { type: "string" },
      allow: { type: "string" },
      port: { type: "string" },
      "bind-address": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals[0] ?? "start";
  if (values.help) return void process.stdout.write(`${USAGE}\n`);

  switch (command) {
    case "sample-config":
      process.stdout.write(renderSampleConfig());
      return;
    case "registration":
      process.stdout.write(registrationYaml(await loadConfig(required(values.config, "--config"))));
      return;
    case "generate": {
      const serverName = required(values["server-name"], "--server-name");
      const config = parseConfig({
        homeserver: { server_name: serverName, url: required(values["homeserver-url"], "--homeserver-url") },
        appservice: {
          url: required(values.url, "--url"),
          as_token: generateToken(),
          hs_token: generateToken(),
          ...(values.port ? { port: Number(values.port) } : {}),
          ...(values["bind-address"] ? { bind_address: values["bind-address"] } : {}),
        },
        federation: { allowlist: (values.allow ?? serverName).split(",").filter(Boolean) },
      });
      await writeFile(required(values.config, "--config"), yaml.dump(config), { mode: 0o600, flag: "wx" });
      await writeFile(required(values.registration, "--registration"), registrationYaml(config), { mode: 0o600, flag: "wx" });
      return;
    }
    case "start": {
      const config = await loadConfig(required(values.config, "--config"));
      const log = createLogger(config.logging.level);
      const running = await start(config, { log });
      const shutdown = (): void => {
        running.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once("SIGTERM", shutdown);
      process.once("SIGINT", shutdown);
      // The homeserver pings us back: proves that it reaches us with the right token.
      createHomeserverClient({ baseUrl: config.homeserver.url, asToken: config.appservice.as_token })
        .pingAppservice(config.appservice.id)
        .then(
          (res) => log.info("homeserver reaches the appservice", { durationMs: res.duration_ms }),
          (err: unknown) => log.warn("homeserver ping failed", { err }),
        );
      return;
    }
    default:
      throw new ConfigError(`unknown command '${command}'\n${USAGE}`);
  }
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") throw new ConfigError(`${flag} is required\n${USAGE}`);
  return value;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`visio-appservice: ${err instanceof ConfigError ? err.message : String((err as Error).stack ?? err)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});

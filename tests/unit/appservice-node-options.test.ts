// Every way of launching the appservice gives Node the options it is measured with.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import yaml from "js-yaml";
import { APPSERVICE_NODE_OPTIONS } from "../../appservice/src/node-options.ts";

/** The arguments given to node before the appservice's entry point. */
function optionsBeforeMain(words: readonly string[]): string[] {
  const node = words.indexOf("node");
  const main = words.indexOf("appservice/src/main.ts");
  assert.ok(node >= 0 && main > node, `node … appservice/src/main.ts in ${words.join(" ")}`);
  return words.slice(node + 1, main);
}

describe("the appservice's Node options", () => {
  it("are given by docker-compose.yml, npm run appservice and the entry point's own line", async () => {
    const compose = yaml.load(await readFile("docker-compose.yml", "utf8")) as { services: Record<string, { command?: string[] }> };
    assert.deepEqual(optionsBeforeMain(compose.services.appservice!.command!), APPSERVICE_NODE_OPTIONS);
    const pkg = JSON.parse(await readFile("package.json", "utf8")) as { scripts: Record<string, string> };
    assert.deepEqual(optionsBeforeMain(pkg.scripts.appservice!.split(" ")), APPSERVICE_NODE_OPTIONS);
    const shebang = (await readFile("appservice/src/main.ts", "utf8")).split("\n")[0]!;
    assert.deepEqual(shebang.split(" "), ["#!/usr/bin/env", "-S", "node", ...APPSERVICE_NODE_OPTIONS]);
  });

  it("are accepted by this Node", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [...APPSERVICE_NODE_OPTIONS, "appservice/src/main.ts", "--help"]);
    assert.match(stdout, /visio-appservice start -c/);
  });
});

// An HTTP server that only records who calls it, one JSON line per request on stdout (run inside a
// namespace): stands for a server an attacker names, to show that nothing is sent there.
//   request-recorder.ts <address> <port>
import { createServer } from "node:http";
import { report, runScript, untilStopped } from "../harness/json-line-script.ts";

const [address, port] = process.argv.slice(2);

async function main(): Promise<void> {
  if (address === undefined || port === undefined) throw new Error("usage: request-recorder.ts <address> <port>");
  const server = createServer((req, res) => {
    report("request", { method: req.method, path: req.url });
    res.writeHead(404, { "access-control-allow-origin": "*" }).end();
  });
  await new Promise<void>((resolve) => server.listen(Number(port), address, () => resolve()));
  report("listening", { address, port: Number(port) });
  await untilStopped();
  server.close();
}

runScript(main);

#!/usr/bin/env node
// Entry point of `npm run transcribe -- <recording> …`; everything else is in transcribeFileCommand.
import { availableParallelism } from "node:os";
import { transcribeFileCommand } from "./recordings/transcribe-file-command.ts";

process.exitCode = await transcribeFileCommand(process.argv.slice(2), {
  log: (line) => process.stderr.write(`${line}\n`),
  print: (text) => process.stdout.write(text),
  cpus: availableParallelism(),
  now: () => performance.now(),
});

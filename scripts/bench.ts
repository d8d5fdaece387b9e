// npm run bench: the figures DESIGN.md sets targets for, as medians over several runs.
import { benchTransactions } from "./bench/appservice-transactions.ts";

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const fmt = (n: number): string => n.toFixed(0);

const tx = await benchTransactions();
process.stdout.write(
  [
    "appservice transactions (1 core, SQLite, 60 transactions x 100 events, sequential like a homeserver):",
    `  events/s per run: ${tx.eventsPerSecond.map(fmt).join(", ")}`,
    `  median: ${fmt(median(tx.eventsPerSecond))} events/s (target >= 2000)`,
    `  events lost or applied twice across restarts and redeliveries: ${tx.lostOrDuplicated}`,
    "",
  ].join("\n"),
);

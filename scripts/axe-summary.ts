// Prints the accessibility results of the browser tests' last run as a Markdown table: the axe-core
// rules each screen breaks at each size (impact, number of elements); the screens that break none in one row.
// Usage: node scripts/axe-summary.ts [client/screenshots/axe]
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AxeScreenReport } from "../tests/support/axe-check.ts";

interface ScreenFile {
  screen: string;
  thirdParty?: string;
  reports: AxeScreenReport[];
}

export function summaryCell(report: AxeScreenReport | undefined): string {
  if (report === undefined) return "—";
  const frames = report.framesNotChecked === undefined ? "" : ` (${report.framesNotChecked} frame(s) not checked)`;
  if (report.violations.length === 0) return `none${frames}`;
  const rules = report.violations.map((v) => `${v.id} (${v.impact ?? "?"}, ${v.count})${v.tolerated === undefined ? "" : " tolerated"}`);
  return `${rules.join("; ")}${frames}`;
}

/** One row per screen that breaks a rule; the screens that break none share the last row. */
export function summaryTable(files: readonly ScreenFile[]): string {
  const sorted = [...files].sort((a, b) => a.screen.localeCompare(b.screen));
  const clean = sorted.filter((file) => file.reports.every((report) => report.violations.length === 0 && report.framesNotChecked === undefined));
  const rows = sorted
    .filter((file) => !clean.includes(file))
    .map((file) => {
      const name = file.thirdParty === undefined ? file.screen : `${file.screen} (${file.thirdParty})`;
      const at = (viewport: string) => summaryCell(file.reports.find((r) => r.viewport === viewport));
      return `| ${name} | ${at("desktop")} | ${at("phone")} |`;
    });
  if (clean.length > 0) rows.push(`| the ${clean.length} others: ${clean.map((file) => file.screen).join(", ")} | none | none |`);
  return ["| screen | 1280×800 | 390×844 |", "|---|---|---|", ...rows].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? join(import.meta.dirname, "..", "client", "screenshots", "axe");
  const files = readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .map((name) => JSON.parse(readFileSync(join(dir, name), "utf8")) as ScreenFile);
  console.log(summaryTable(files));
}

// Accessibility check of a screen by axe-core (WCAG 2.0 and 2.1 levels A and AA, and Deque's best
// practices), run by the browser tests on every screen they save a screenshot of. The violations of
// each screen are written beside its screenshots (client/screenshots/axe/<name>.json, small: rule,
// impact, help and the first targets), and a serious or critical one fails the test.
import { readFile, mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Page } from "playwright-core";

export const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] as const;

/** Impacts that fail a test: the ones that stop or seriously hinder someone from using the screen. */
export const BLOCKING_IMPACTS: readonly string[] = ["serious", "critical"];

/** Targets kept per rule in a report: enough to find the element, and the files stay small. */
const MAX_TARGETS = 5;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  /** How many elements break the rule; `targets` holds the first few (CSS selectors). */
  count: number;
  targets: string[];
  /** Set when the rule is tolerated on a page that is not ours (see ThirdPartyPage), with why. */
  tolerated?: string;
}

export interface AxeScreenReport {
  /** "desktop" (the page's own size) or "phone" (390×844). */
  viewport: string;
  width: number;
  height: number;
  violations: AxeViolation[];
  /** Frames in the page, which axe-core does not enter here (none in Visio's screens); said, not skipped silently. */
  framesNotChecked?: number;
}

/**
 * Another product's page (Element Call): we cannot change it, so the rules it is known to break are
 * named here with the reason, recorded as tolerated in its report, and any other violation still fails.
 */
export interface ThirdPartyPage {
  product: string;
  tolerated: Readonly<Record<string, string>>;
}

let axeSource: string | undefined;

async function loadAxeSource(): Promise<string> {
  if (axeSource === undefined) {
    const path = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
    axeSource = await readFile(path, "utf8");
  }
  return axeSource;
}

interface RawNode {
  target: unknown[];
}
interface RawResult {
  id: string;
  impact?: string | null;
  help: string;
  helpUrl: string;
  nodes: RawNode[];
}

/**
 * Runs axe-core on the page as it is now. The script is evaluated through the browser's debugging
 * protocol, which the client's Content-Security-Policy (scripts of its own origin only) does not
 * apply to, so the page is checked under the policy it is served with.
 */
export async function checkAccessibility(page: Page, thirdParty?: ThirdPartyPage): Promise<AxeScreenReport> {
  const hasAxe = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === "object");
  if (!hasAxe) await page.evaluate(await loadAxeSource());
  const raw = await page.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: unknown[] }> } }).axe;
    const results = await axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"], iframes: false });
    return JSON.parse(JSON.stringify(results.violations)) as unknown;
  }, [...AXE_TAGS]);
  const frames = await page.evaluate(() => document.querySelectorAll("iframe, frame").length);
  const size = page.viewportSize() ?? { width: 0, height: 0 };
  const violations = (raw as RawResult[]).map((result): AxeViolation => {
    const violation: AxeViolation = {
      id: result.id,
      impact: result.impact ?? null,
      help: result.help,
      helpUrl: result.helpUrl,
      count: result.nodes.length,
      targets: result.nodes.slice(0, MAX_TARGETS).map((node) => node.target.map(String).join(" >>> ")),
    };
    const reason = thirdParty?.tolerated[result.id];
    if (reason !== undefined) violation.tolerated = `${thirdParty?.product}: ${reason}`;
    return violation;
  });
  const report: AxeScreenReport = { viewport: size.width <= 480 ? "phone" : "desktop", width: size.width, height: size.height, violations };
  if (frames > 0) report.framesNotChecked = frames;
  return report;
}

/** The violations that fail a test: serious or critical, and not tolerated on another product's page. */
export function blockingViolations(reports: readonly AxeScreenReport[]): Array<AxeViolation & { viewport: string }> {
  return reports.flatMap((report) =>
    report.violations
      .filter((violation) => violation.tolerated === undefined && BLOCKING_IMPACTS.includes(violation.impact ?? ""))
      .map((violation) => ({ ...violation, viewport: report.viewport })),
  );
}

/** One line per rule: what is wrong, where, and where to read how to fix it. */
export function describeViolations(name: string, violations: ReturnType<typeof blockingViolations>): string {
  const lines = violations.map(
    (v) => `  - [${v.impact}] ${v.id} (${v.viewport}, ${v.count} element${v.count === 1 ? "" : "s"}): ${v.help}\n      at ${v.targets.join(" | ")}\n      ${v.helpUrl}`,
  );
  return `accessibility: screen "${name}" has ${violations.length} serious or critical axe-core violation${violations.length === 1 ? "" : "s"}:\n${lines.join("\n")}`;
}

/** Writes `<dir>/axe/<name>.json`: the screen's violations at each size it was checked at. */
export async function writeAxeReport(dir: string, name: string, reports: readonly AxeScreenReport[], thirdParty?: ThirdPartyPage): Promise<string> {
  const axeDir = join(dir, "axe");
  await mkdir(axeDir, { recursive: true });
  const path = join(axeDir, `${name}.json`);
  const body = { screen: name, ...(thirdParty ? { thirdParty: thirdParty.product } : {}), tags: AXE_TAGS, reports };
  await writeFile(path, `${JSON.stringify(body, null, 2)}\n`);
  return path;
}

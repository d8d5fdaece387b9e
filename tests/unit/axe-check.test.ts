// What fails a browser test on accessibility, and how it is told: serious and critical axe-core
// violations fail, at either size; lesser ones are only recorded; a rule tolerated on another
// product's page is recorded as such and does not fail, any other rule there still does.
import assert from "node:assert/strict";
import { summaryTable } from "../../scripts/axe-summary.ts";
import type { AxeScreenReport, AxeViolation } from "../support/axe-check.ts";
import { blockingViolations, describeViolations } from "../support/axe-check.ts";

function violation(id: string, impact: string, extra: Partial<AxeViolation> = {}): AxeViolation {
  return { id, impact, help: `help for ${id}`, helpUrl: `https://dequeuniversity.com/rules/axe/4.11/${id}`, count: 1, targets: [`#${id}`], ...extra };
}

function report(viewport: string, violations: AxeViolation[]): AxeScreenReport {
  return { viewport, width: viewport === "phone" ? 390 : 1280, height: viewport === "phone" ? 844 : 800, violations };
}

describe("accessibility check of the browser tests' screens (axe-core)", () => {
  it("fails on serious and critical violations at either size, not on moderate or minor ones", () => {
    const reports = [
      report("desktop", [violation("heading-order", "moderate"), violation("color-contrast", "serious")]),
      report("phone", [violation("region", "minor"), violation("button-name", "critical")]),
    ];
    const blocking = blockingViolations(reports);
    assert.deepEqual(
      blocking.map((v) => [v.id, v.viewport]),
      [
        ["color-contrast", "desktop"],
        ["button-name", "phone"],
      ],
    );
  });

  it("passes a screen without violations", () => {
    assert.deepEqual(blockingViolations([report("desktop", []), report("phone", [violation("region", "moderate")])]), []);
  });

  it("does not fail on a rule tolerated on another product's page, but does on any other", () => {
    const reports = [report("desktop", [violation("aria-prohibited-attr", "serious", { tolerated: "Element Call: its own markup" }), violation("label", "critical")])];
    assert.deepEqual(
      blockingViolations(reports).map((v) => v.id),
      ["label"],
    );
  });

  it("says which rule, where, and where to read how to fix it", () => {
    const message = describeViolations("prejoin", blockingViolations([report("phone", [violation("select-name", "critical", { count: 2, targets: ["#mic", "#cam"] })])]));
    assert.match(message, /screen "prejoin"/);
    assert.match(message, /\[critical\] select-name \(phone, 2 elements\): help for select-name/);
    assert.match(message, /#mic \| #cam/);
    assert.match(message, /dequeuniversity\.com\/rules\/axe\/4\.11\/select-name/);
  });

  it("summarises the results as a table: a row per screen that breaks a rule, both sizes, one for the others", () => {
    const table = summaryTable([
      { screen: "two-person-call", reports: [report("desktop", []), report("phone", [violation("region", "moderate", { count: 3 })])] },
      { screen: "sign-in-sso", reports: [report("desktop", []), report("phone", [])] },
      { screen: "element-call-with-visio", thirdParty: "Element Call", reports: [report("desktop", [violation("list", "serious", { tolerated: "x" })])] },
      { screen: "prejoin", reports: [report("desktop", []), report("phone", [])] },
      { screen: "framed", reports: [{ ...report("desktop", []), framesNotChecked: 1 }] },
    ]);
    assert.equal(
      table,
      [
        "| screen | 1280×800 | 390×844 |",
        "|---|---|---|",
        "| element-call-with-visio (Element Call) | list (serious, 1) tolerated | — |",
        "| framed | none (1 frame(s) not checked) | — |",
        "| two-person-call | none | region (moderate, 3) |",
        "| the 2 others: prejoin, sign-in-sso | none | none |",
      ].join("\n"),
    );
  });
});

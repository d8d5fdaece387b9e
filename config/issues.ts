// How every Visio config file reports what is wrong: one line per problem, each naming its key.
import type { z } from "zod";

export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => `${path ? `${path}.` : ""}${key}: unknown key`);
    }
    return [`${path || "(root)"}: ${issue.message}`];
  });
}

// The demo's two ministries and their accounts, which the banner prints and --check logs in with.
export type Ministry = "a" | "b";
export const MINISTRIES: readonly Ministry[] = ["a", "b"];
export const PASSWORD = "visio-demo";
export const ACCOUNTS: Record<Ministry, { localpart: string; displayName: string }> = {
  a: { localpart: "alice", displayName: "Alice (ministère A)" },
  b: { localpart: "bruno", displayName: "Bruno (ministère B)" },
};

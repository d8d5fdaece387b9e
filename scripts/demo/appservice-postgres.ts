// `npm start -- --postgres`: each ministry's appservice keeps its store in a PostgreSQL database of
// its own, on its ministry's own PostgreSQL server (Debian's; inside the ministry's namespace with
// --netns), as production runs it; and what --check reads back there.
import { chmod } from "node:fs/promises";
import { join } from "node:path";
import { startPostgres, tableRows, type Host, type Servers } from "@visio/testbed";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore } from "../../appservice/src/storage/store.ts";
import type { AppserviceConfig } from "../../config/schema.ts";
import { ACCOUNTS, MINISTRIES, type Ministry } from "./accounts.ts";

const DATABASE = "visio_appservice";

export type AppserviceDatabases = Record<Ministry, AppserviceConfig["database"]>;

/**
 * A PostgreSQL server per ministry, listening on the ministry's control address (where its
 * appservice and the runner both reach it), with an empty database for the appservice, which
 * applies its migrations as it starts.
 */
export async function startAppserviceDatabases(bed: Servers<Ministry>, hosts: Record<Ministry, Host>, binDir: string): Promise<AppserviceDatabases> {
  // PostgreSQL runs as its own OS user, which must reach its data dir inside the run dir.
  await chmod(bed.runDir, 0o711);
  const entries = await Promise.all(
    MINISTRIES.map(async (m) => {
      const server = await startPostgres({
        binDir,
        dir: join(bed.runDir, `postgres-${m}`),
        processes: bed.processes,
        namespace: hosts[m].namespace,
        address: hosts[m].controlAddress,
        logName: `postgres-${m}`,
      });
      const database: AppserviceConfig["database"] = { client: "postgres", filename: "", connection: await server.createDatabase(DATABASE) };
      return [m, database] as const;
    }),
  );
  return Object.fromEntries(entries) as AppserviceDatabases;
}

/**
 * Reads each store back from PostgreSQL: A's holds the demo meeting and alice's and bruno's joins
 * (from the transactions of A's homeserver). Returns one line per ministry with its tables' rows.
 */
export async function checkAppserviceStores(databases: AppserviceDatabases, hosts: Record<Ministry, Host>, meeting: { alias: string; roomId: string }): Promise<string> {
  const db = await openDatabase(databases.a);
  try {
    const store = createStore(db);
    const room = await store.meetingRoomByAlias(meeting.alias);
    if (room?.roomId !== meeting.roomId) throw new Error(`A's store in PostgreSQL has no meeting ${meeting.alias} (${meeting.roomId}): ${JSON.stringify(room)}`);
    for (const m of MINISTRIES) {
      const userId = `@${ACCOUNTS[m].localpart}:${hosts[m].serverName}`;
      const membership = await store.membership(meeting.roomId, userId);
      if (membership !== "join") throw new Error(`A's store in PostgreSQL has ${userId} as ${membership ?? "no member"} of ${meeting.roomId}, not joined`);
    }
  } finally {
    await db.destroy();
  }
  const lines = await Promise.all(
    MINISTRIES.map(async (m) => {
      const { connection = "" } = databases[m];
      const rows = await tableRows(connection);
      const counts = Object.entries(rows).map(([table, count]) => `${table} ${count}`);
      return `  ${m.toUpperCase()}: ${connection}: ${counts.length} tables: ${counts.join(", ")}`;
    }),
  );
  return lines.join("\n");
}

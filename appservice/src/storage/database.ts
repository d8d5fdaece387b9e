// Opens the database named by the config and applies the versioned migrations before anything else.
import knex, { type Knex } from "knex";
import type { AppserviceConfig } from "../../../config/schema.ts";
import * as initial from "./migrations/001-initial.ts";
import * as calls from "./migrations/002-calls.ts";
import * as effectSchedule from "./migrations/003-effect-schedule.ts";
import * as delegatedLeaves from "./migrations/004-delegated-leaves.ts";

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Every migration, in order. Names are stored in the database: never rename one. */
const MIGRATIONS: [name: string, migration: Migration][] = [
  ["001-initial", initial],
  ["002-calls", calls],
  ["003-effect-schedule", effectSchedule],
  ["004-delegated-leaves", delegatedLeaves],
];

const migrationSource: Knex.MigrationSource<[string, Migration]> = {
  getMigrations: async () => MIGRATIONS,
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};

export async function openDatabase(config: AppserviceConfig["database"]): Promise<Knex> {
  const db =
    config.client === "postgres"
      ? knex({ client: "pg", connection: config.connection, pool: { min: 0, max: 10 } })
      : knex({ client: "better-sqlite3", connection: { filename: config.filename }, useNullAsDefault: true });
  if (config.client === "sqlite") {
    // WAL keeps readers off the writer's back; NORMAL sync is durable across process crashes.
    await db.raw("PRAGMA journal_mode = WAL");
    await db.raw("PRAGMA synchronous = NORMAL");
  }
  await db.migrate.latest({ migrationSource });
  return db;
}

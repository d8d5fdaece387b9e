// The appservice configuration: one schema gives the TypeScript type, the defaults, validation at load
// and the generated sample file (config/appservice.sample.yaml).
import { z } from "zod";
import { engineNameSchema, languageTagSchema } from "./transcription-fields.ts";

/** A Matrix server name: a DNS name or IP literal with an optional port. */
export const serverNameSchema = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(:\d{1,5})?$/, "must be a Matrix server name (host or host:port)");

const tokenSchema = z.string().min(32, "must be at least 32 characters (generate one with `visio-appservice generate`)");

const limit = ([perSecond, burst]: [number, number]) =>
  z
    .strictObject({
      per_second: z.number().positive().max(1_000_000).default(perSecond).meta({ description: "Requests per second, sustained." }),
      burst: z.number().int().min(1).max(1_000_000).default(burst).meta({ description: "Requests at once after a quiet time." }),
    })
    .prefault({});

const apiLimits = (defaults: { perUser: [number, number]; perServer: [number, number] }) =>
  z
    .strictObject({
      per_user: limit(defaults.perUser).meta({ description: "Per Matrix user (after the OpenID token is verified)." }),
      per_server: limit(defaults.perServer).meta({ description: "Per homeserver, all its users together (before the token is verified)." }),
    })
    .prefault({});

export const configSchema = z.strictObject({
  homeserver: z.strictObject({
    server_name: serverNameSchema.meta({
      description: "Server name of this ministry's homeserver (the part after ':' in user IDs).",
      examples: ["ministry-a.example"],
    }),
    url: z.url().meta({
      description: "Client-Server API base URL of that homeserver, as the appservice reaches it.",
      examples: ["http://synapse:8008"],
    }),
  }),
  appservice: z
    .strictObject({
      id: z.string().min(1).default("visio").meta({ description: "Appservice ID in the registration file." }),
      bind_address: z.string().default("127.0.0.1").meta({ description: "Address the HTTP server listens on." }),
      port: z.number().int().min(0).max(65535).default(9000).meta({ description: "Port the HTTP server listens on (0: any free port)." }),
      url: z.url().meta({
        description: "URL the homeserver uses to reach this appservice (goes into the registration).",
        examples: ["http://visio-appservice:9000"],
      }),
      as_token: tokenSchema.meta({
        description: "Token the appservice presents to the homeserver.",
        examples: ["CHANGE_ME_generated_by_visio_appservice_generate_as"],
      }),
      hs_token: tokenSchema.meta({
        description: "Token the homeserver presents to the appservice; checked on every request.",
        examples: ["CHANGE_ME_generated_by_visio_appservice_generate_hs"],
      }),
      sender_localpart: z
        .string()
        .regex(/^[a-z0-9._=/-]+$/, "must be a valid Matrix localpart")
        .default("visio")
        .meta({ description: "Localpart of the appservice bot, which creates and administers meeting rooms." }),
    }),
  database: z
    .strictObject({
      client: z.enum(["sqlite", "postgres"]).default("sqlite").meta({ description: "sqlite (embedded) or postgres." }),
      filename: z.string().default("visio-appservice.db").meta({ description: "SQLite file (client: sqlite)." }),
      connection: z
        .string()
        .optional()
        .meta({ description: "PostgreSQL connection string (client: postgres).", examples: ["postgres://visio@postgres/visio"] }),
    })
    .refine((db) => db.client !== "postgres" || db.connection !== undefined, {
      message: "is required when client is postgres",
      path: ["connection"],
    })
    .prefault({}),
  federation: z.strictObject({
    allowlist: z.array(serverNameSchema).min(1).meta({
      description: "Servers allowed in meeting rooms (m.room.server_acl). This homeserver is always allowed.",
      examples: [["ministry-a.example", "ministry-b.example"]],
    }),
  }),
  meetings: z
    .strictObject({
      alias_prefix: z
        .string()
        .regex(/^[a-z0-9-]+$/, "must be lowercase letters, digits and '-'")
        .default("visio-")
        .meta({ description: "Meeting addresses are #<prefix><slug>:<server_name>; the prefix is the appservice's exclusive alias namespace, so only meetings created through Visio carry it." }),
      join_rule: z
        .enum(["public", "knock", "invite"])
        .default("public")
        .meta({ description: "Join rule of new meeting rooms; the server ACL applies whatever it is." }),
      room_version: z
        .string()
        .regex(/^[A-Za-z0-9.-]*$/, "must be a room version identifier, or empty for the homeserver's default")
        .default("org.matrix.msc3757.11")
        .meta({
          description:
            "Room version of new meeting rooms. The default, MSC3757 on room version 11, lets only a member (or someone above them) write the state events whose key starts with their user ID: nobody can overwrite another's call membership (matrix-js-sdk, hence the Visio client and Element Call, keys memberships that way in such rooms). Every ministry's homeserver must know the version to join (Synapse 1.163, the pinned one, does); empty: the homeserver's default, where the appservice ignores memberships written under another user's key but cannot stop them.",
        }),
      creation_limit: limit([0.2, 200]).meta({
        description:
          "Meetings created (the client's \"Nouvelle réunion\"), all creators together, per second sustained and burst; each user and server is also held to rate_limits.control. Beyond it a creation is refused with M_LIMIT_EXCEEDED.",
      }),
    })
    .prefault({}),
  focus: z
    .strictObject({
      livekit: z
        .strictObject({
          url: z.url({ protocol: /^wss?$/, error: "must be a ws:// or wss:// URL" }).meta({
            description: "LiveKit URL that clients connect to (returned with every token).",
            examples: ["wss://livekit.ministry-a.example"],
          }),
          api_url: z
            .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
            .optional()
            .meta({
              description: "LiveKit server API URL as the appservice reaches it; default: url with ws→http, wss→https.",
              examples: ["http://livekit:7880"],
            }),
          api_key: z.string().min(1).meta({
            description:
              "LiveKit API key. LiveKit must sign its webhooks (to POST /livekit/webhook here) with it: set its webhook.api_key to this key.",
            examples: ["visio"],
          }),
          api_secret: z.string().min(32, "must be at least 32 characters (LiveKit refuses shorter secrets)").meta({
            description: "LiveKit API secret (signs the tokens; LiveKit runs with room.auto_create: false).",
            examples: ["CHANGE_ME_livekit_api_secret_32_chars_or_more"],
          }),
        })
        .meta({ description: "This ministry's LiveKit SFU." }),
      sfu_selection: z.enum(["oldest_membership", "multi_sfu"]).default("oldest_membership").meta({
        description:
          "oldest_membership: everyone publishes on the oldest member's SFU. multi_sfu: users of other servers only subscribe here.",
      }),
      full_access_servers: z.array(serverNameSchema).min(1).optional().meta({
        description:
          "Servers whose users this SFU serves: they may start calls (create LiveKit rooms) and, in multi_sfu, publish. Default: this homeserver.",
        examples: [["ministry-a.example"]],
      }),
      federation_ca_file: z.string().min(1).optional().meta({
        description: "PEM CA bundle that homeservers' federation certificates must chain to; default: Node's built-in CAs.",
        examples: ["/etc/visio/federation-ca.pem"],
      }),
      federation_timeout_ms: z.number().int().min(100).max(60_000).default(5000).meta({
        description: "Timeout of each federation request that checks an OpenID token.",
      }),
      openid_cache_seconds: z.number().int().min(0).max(300).default(60).meta({
        description: "How long a checked OpenID token is trusted without asking its homeserver again (0: never).",
      }),
      token_ttl_seconds: z.number().int().min(30).max(3600).default(600).meta({
        description: "Lifetime of LiveKit tokens; LiveKit refreshes them for connected participants.",
      }),
    })
    .meta({ description: "MatrixRTC focus (LiveKit token service, MSC4195). Optional: leave it out to run without calls." })
    .optional(),
  transcription: z
    .strictObject({
      control_power_level: z.number().int().min(-1_000_000).max(1_000_000).default(0).meta({
        description:
          "Lowest room power level that may start or stop a meeting's transcription (API or `!transcribe`); members must also be joined and from an allowed server. 0: any member, since everyone sees that the meeting is transcribed; 50: moderators only.",
      }),
      bridge_localpart: z
        .string()
        .regex(/^[a-z0-9._=/-]+$/, "must be a valid Matrix localpart")
        .default("visio-transcriber")
        .meta({
          description:
            "Localpart of the transcription bridge's Matrix user, which posts the transcript. It is the transcription worker's own appservice user (its registration: `worker.ts --registration`), left out of this appservice's namespace; the appservice invites it into transcribed rooms and it joins them itself.",
        }),
      language: languageTagSchema
        .default("fr")
        .meta({ description: "Language when a start request names none (BCP 47; und: the engine detects it). The bot's notices and the transcript files are in French for French meetings, in English otherwise." }),
      engine: engineNameSchema.default("openai").meta({
        description: "Name of the bridge's speech-to-text engine, recorded in the room state and the transcript (match the bridge's stt.engine).",
      }),
    })
    .meta({ description: "Live transcription control: who may start and stop it, and what the bridge is told." })
    .prefault({}),
  rate_limits: z
    .strictObject({
      enabled: z.boolean().default(true).meta({ description: "false turns every limit below off (only for measurements)." }),
      focus: apiLimits({ perUser: [5, 30], perServer: [200, 2000] }).meta({
        description: "The focus endpoints (/get_token, /sfu/get): every participant asks once per focus at each join and token refresh.",
      }),
      control: apiLimits({ perUser: [2, 20], perServer: [20, 200] }).meta({
        description: "The appservice's APIs for clients: transcription control (start, stop, recordings) and meeting creation.",
      }),
    })
    .meta({
      description:
        "Requests per second (sustained) and burst of the OpenID-authenticated APIs, per user and per homeserver (the homeserver's is checked before its token is, so it also bounds the federation requests made here). Beyond: 429 M_LIMIT_EXCEEDED with retry_after_ms.",
    })
    .prefault({}),
  retention: z
    .strictObject({
      transactions_days: z.number().int().min(1).max(3650).default(7).meta({
        description: "How long the IDs of handled homeserver transactions are kept (a redelivery is recognised within it).",
      }),
      finished_effects_days: z.number().int().min(1).max(3650).default(7).meta({ description: "How long done call effects (notices, LiveKit calls) are kept." }),
      identities_days: z.number().int().min(1).max(3650).default(30).meta({
        description: "How long the LiveKit identities the focus issued are kept (webhooks about older ones are no longer mapped to users).",
      }),
    })
    .meta({ description: "Pruning of what grows with traffic, checked every sweep. Call records (calls, call_participants) are kept: they are the meetings' history." })
    .prefault({}),
  logging: z
    .strictObject({
      level: z.enum(["debug", "info", "warn", "error"]).default("info").meta({ description: "Lowest level logged." }),
    })
    .prefault({}),
})
  // The bot and the bridge are two users with two tokens: one cannot be the other.
  .refine((config) => config.transcription.bridge_localpart !== config.appservice.sender_localpart, {
    message: "must differ from appservice.sender_localpart (the bridge is a user of its own, not the bot)",
    path: ["transcription", "bridge_localpart"],
  });

export type AppserviceConfig = z.output<typeof configSchema>;
export type AppserviceConfigInput = z.input<typeof configSchema>;

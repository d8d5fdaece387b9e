// Wire types shared by the client, the appservice and the bridge: HTTP bodies, event contents, and
// every name they use on the wire (event types, content keys, API paths, LiveKit topics and
// attributes). One definition per shape and per name, in one file per topic under wire/; every part
// imports them from here.
export * from "./wire/matrix.ts";
export * from "./wire/calls.ts";
export * from "./wire/meetings.ts";
export * from "./wire/transcripts.ts";
export * from "./wire/livekit.ts";

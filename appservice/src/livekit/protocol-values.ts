// The few values of LiveKit's protocol enums that the appservice compares or sends, written out so
// that its start does not load the protocol's definitions (a unit test checks them against those).
import type { DataPacket_Kind, JobStatus, ParticipantInfo_Kind, TrackSource, TrackType } from "@livekit/protocol";

export const TRACK_TYPE_AUDIO = 0 as TrackType.AUDIO;
export const TRACK_SOURCE_SCREEN_SHARE_AUDIO = 4 as TrackSource.SCREEN_SHARE_AUDIO;
export const DATA_PACKET_RELIABLE = 0 as DataPacket_Kind.RELIABLE;
export const PARTICIPANT_KIND_AGENT = 4 as ParticipantInfo_Kind.AGENT;
export const JOB_STATUS_PENDING = 0 as JobStatus.JS_PENDING;
export const JOB_STATUS_RUNNING = 1 as JobStatus.JS_RUNNING;

// What the client hands up and takes back. Resources are plain proto3 JSON objects with
// snake_case names (see proto-json.ts); the consumer validates and applies them.
import type { JsonObject } from './proto-json.ts';

export interface DecodedResource {
  name: string;
  // The resource's own version (delta), else the version of the response that carried it.
  version: string;
  resource: JsonObject;
}

export interface ResourceUpdate {
  version: string;
  // Added or updated resources; when `complete`, every resource of the type.
  resources: DecodedResource[];
  // Names of resources that no longer exist.
  removed: string[];
  // True when `resources` is the whole set (state of the world LDS/CDS, files).
  complete: boolean;
}

export type UpdateResult = { ok: true } | { ok: false; error: string };

// Applies an update, or rejects it as a whole (the client then NACKs and keeps the old set).
export type ResourceConsumer = (typeUrl: string, update: ResourceUpdate) => Promise<UpdateResult>;

export interface XdsLogger {
  info(message: string): void;
  warn(message: string): void;
}

// Per type URL, for stats (Envoy's <prefix>.update_success and friends).
export interface TypeStats {
  version: string; // last accepted version_info ('' before the first)
  updateAttempt: number;
  updateSuccess: number;
  updateRejected: number;
  updateFailure: number; // the stream failed while subscribed
  initFetchTimeout: number;
  lastUpdateTime: number | undefined; // ms since the epoch of the last accepted update
  lastError: string | undefined; // of the last rejected update
}

// The control-plane client: one ADS stream at a time, reconnected with back-off, resubscribing
// with what the proxy already holds. Hands resources up, takes accept/reject back.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import packageJson from '../package.json' with { type: 'json' };
import type { DiscoveryService } from './ads-service.ts';
import { DeltaStream } from './delta-stream.ts';
import { Backoff } from './backoff.ts';
import type { BackoffOptions } from './backoff.ts';
import { SotwStream } from './ads-stream.ts';
import type { JsonObject } from './proto-json.ts';
import { protoRoot } from './protos.ts';
import { DEFAULT_WILDCARD_TYPES } from './resource-types.ts';
import type { AdsStream } from './stream-base.ts';
import { Subscriptions } from './subscription.ts';
import type { ResourceConsumer, TypeStats, XdsLogger } from './types.ts';

export interface XdsServerOptions {
  address: string; // host:port, or any gRPC target
  credentials?: grpc.ChannelCredentials; // default: insecure
  channelOptions?: grpc.ChannelOptions;
}

// envoy.config.core.v3.Node, as proto3 JSON; user_agent_name and _version are filled in.
export interface NodeInfo {
  id: string;
  cluster: string;
  metadata?: JsonObject;
  locality?: { region?: string; zone?: string; sub_zone?: string };
}

export interface XdsClientOptions {
  server: XdsServerOptions;
  node: NodeInfo;
  apiType?: 'GRPC' | 'DELTA_GRPC'; // default GRPC (state of the world)
  service?: DiscoveryService; // default 'ads'; 'sds' for a secrets-only server (its types: Secret, by name)
  // Envoy's initial_fetch_timeout (default 15 s; 0 disables): after it, a type that has had no
  // response yet is reported with an 'initialFetchTimeout' event so startup can go on.
  initialFetchTimeoutMs?: number;
  wildcardTypes?: string[]; // default CDS and LDS
  backoff?: BackoffOptions;
  onResources: ResourceConsumer;
  logger?: XdsLogger;
}

export interface XdsClientState {
  connected: boolean;
  types: Record<string, TypeStats>;
}

export interface XdsClientEvents {
  connected: [];
  disconnected: [reason: string];
  initialFetchTimeout: [typeUrl: string];
  // A stream ended (or could not be opened) while this type was subscribed (Envoy's update_failure).
  updateFailure: [typeUrl: string];
  // A response NACKed by the client itself, before the consumer saw it: it did not decode.
  invalidResponse: [typeUrl: string, version: string, error: string];
}

export interface XdsClient extends EventEmitter<XdsClientEvents> {
  start(): void;
  // The names the proxy wants of a non-wildcard type (RDS route configs, EDS clusters).
  setResourceNames(typeUrl: string, names: Iterable<string>): void;
  stop(): Promise<void>;
  state(): XdsClientState;
}

export function createXdsClient(options: XdsClientOptions): XdsClient {
  return new Client(options);
}

const silent: XdsLogger = { info: () => {}, warn: () => {} };

class Client extends EventEmitter<XdsClientEvents> implements XdsClient {
  readonly #options: XdsClientOptions;
  readonly #subscriptions: Subscriptions;
  readonly #backoff: Backoff;
  readonly #logger: XdsLogger;
  readonly #node: JsonObject;
  readonly #initTimers = new Map<string, NodeJS.Timeout>();
  #stream: AdsStream<unknown> | undefined;
  #streamClosed: Promise<void> = Promise.resolve();
  #reconnectTimer: NodeJS.Timeout | undefined;
  #started = false;
  #stopped = false;
  #connected = false;
  #reportedDown = false;

  constructor(options: XdsClientOptions) {
    super();
    this.#options = options;
    this.#subscriptions = new Subscriptions(options.wildcardTypes ?? DEFAULT_WILDCARD_TYPES);
    this.#backoff = new Backoff(options.backoff);
    this.#logger = options.logger ?? silent;
    const { id, cluster, metadata, locality } = options.node;
    this.#node = {
      id,
      cluster,
      ...(metadata === undefined ? {} : { metadata }),
      ...(locality === undefined ? {} : { locality }),
      user_agent_name: 'legate',
      user_agent_version: packageJson.version,
    };
  }

  // Log lines name the service: 'xDS' (ADS) or 'SDS'.
  get #name(): string {
    return this.#options.service === 'sds' ? 'SDS' : 'xDS';
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    // The one-off schema load (~200 ms) is ours, not the server's: keep it out of the timers.
    protoRoot();
    for (const subscription of this.#subscriptions.inWarmingOrder()) {
      if (subscription.active) this.#armInitialFetchTimer(subscription.typeUrl);
    }
    this.#connect();
  }

  setResourceNames(typeUrl: string, names: Iterable<string>): void {
    const subscription = this.#subscriptions.named(typeUrl);
    if (!subscription.setNames(names)) return;
    if (this.#started && !this.#stopped && subscription.active) this.#armInitialFetchTimer(typeUrl);
    this.#stream?.namesChanged(typeUrl);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    for (const timer of this.#initTimers.values()) clearTimeout(timer);
    this.#stream?.close();
    await this.#streamClosed;
  }

  state(): XdsClientState {
    const types: Record<string, TypeStats> = {};
    for (const subscription of this.#subscriptions.inWarmingOrder()) types[subscription.typeUrl] = subscription.stats();
    return { connected: this.#connected, types };
  }

  #connect(): void {
    const { server, apiType } = this.#options;
    const streamOptions = {
      address: server.address,
      service: this.#options.service ?? 'ads',
      credentials: server.credentials ?? grpc.credentials.createInsecure(),
      channelOptions: server.channelOptions ?? {},
      node: this.#node,
      subscriptions: this.#subscriptions,
      consumer: this.#options.onResources,
    };
    const stream: AdsStream<unknown> = apiType === 'DELTA_GRPC' ? new DeltaStream(streamOptions) : new SotwStream(streamOptions);
    this.#stream = stream;
    this.#streamClosed = new Promise((resolve) => {
      stream.once('closed', (reason) => {
        this.#onClosed(reason);
        resolve();
      });
    });
    stream.on('established', () => {
      if (this.#connected) return;
      this.#connected = true;
      this.#reportedDown = false;
      this.#logger.info(`${this.#name}: connected to ${server.address} (${apiType ?? 'GRPC'})`);
      this.emit('connected');
    });
    stream.on('response', () => this.#backoff.reset());
    stream.on('invalid', (typeUrl, version, error) => this.emit('invalidResponse', typeUrl, version, error));
    stream.start();
  }

  #onClosed(reason: string): void {
    this.#stream = undefined;
    const wasConnected = this.#connected;
    this.#connected = false;
    if (this.#stopped) return;
    for (const subscription of this.#subscriptions.inWarmingOrder()) {
      if (!subscription.requested) continue;
      subscription.streamFailed();
      this.emit('updateFailure', subscription.typeUrl);
    }
    // One line per change of state, not one per failed attempt.
    if (!this.#reportedDown) {
      this.#reportedDown = true;
      const what = wasConnected ? 'lost the stream to' : 'cannot reach';
      this.#logger.warn(`${this.#name}: ${what} ${this.#options.server.address} (${reason}); retrying with back-off`);
    }
    if (wasConnected) this.emit('disconnected', reason);
    this.#reconnectTimer = setTimeout(() => this.#connect(), this.#backoff.next());
  }

  #armInitialFetchTimer(typeUrl: string): void {
    const timeout = this.#options.initialFetchTimeoutMs ?? 15_000;
    if (timeout <= 0 || this.#initTimers.has(typeUrl)) return;
    const timer = setTimeout(() => {
      const subscription = this.#subscriptions.get(typeUrl);
      if (subscription === undefined || subscription.responded || this.#stopped) return;
      subscription.initialFetchTimedOut();
      this.#logger.warn(`${this.#name}: no ${typeUrl} from ${this.#options.server.address} within ${timeout} ms; going on without it`);
      this.emit('initialFetchTimeout', typeUrl);
    }, timeout);
    timer.unref();
    this.#initTimers.set(typeUrl, timer);
  }
}

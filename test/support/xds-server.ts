// A real gRPC xDS management server for tests: state-of-the-world and delta ADS on
// 127.0.0.1, any number of streams; or, with service 'sds', a SecretDiscoveryService (as Istio's
// pilot-agent serves on sds-grpc). Resources are proto3 JSON with "@type"; every request is
// recorded (node, version_info, response_nonce, error_detail, ...) so tests can assert ACKs and
// NACKs. stop() then start() serves again on the same port, for reconnect tests.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition } from '../../xds-client/index.ts';
import type { DiscoveryService, JsonObject } from '../../xds-client/index.ts';
import { DeltaSession } from './xds/delta-session.ts';
import { ResourceStore } from './xds/resource-store.ts';
import { SotwSession } from './xds/sotw-session.ts';
import { waitForItem } from './xds/wait.ts';

export interface RecordedRequest {
  index: number; // position in XdsServer.requests
  stream: number; // 1, 2, ... in the order streams opened (across restarts)
  delta: boolean;
  request: JsonObject;
}

export interface RecordedResponse {
  stream: number;
  delta: boolean;
  response: JsonObject; // as sent: version_info / system_version_info, nonce, resources with "@type"
}

type Session = SotwSession | DeltaSession;
type AdsCall = grpc.ServerDuplexStream<JsonObject, JsonObject>;

export class XdsServer {
  readonly requests: RecordedRequest[] = [];
  readonly responses: RecordedResponse[] = [];
  readonly #events = new EventEmitter();
  readonly #store = new ResourceStore();
  readonly #sessions = new Map<Session, AdsCall>();
  #server: grpc.Server | undefined;
  #port = 0;
  #streams = 0;
  #nonce = 0;
  readonly #service: DiscoveryService;

  readonly unixPath: string | undefined;

  /** `unixPath`: serve on that Unix socket instead of 127.0.0.1 (as pilot-agent serves the proxy). */
  constructor(options: { service?: DiscoveryService; unixPath?: string } = {}) {
    this.#service = options.service ?? 'ads';
    this.unixPath = options.unixPath;
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  // Streams open now.
  get openStreams(): number {
    return this.#sessions.size;
  }

  // Streams opened so far, across restarts.
  get streamsOpened(): number {
    return this.#streams;
  }

  // Binds port 0 the first time, the same port after a stop().
  async start(): Promise<void> {
    if (this.#server !== undefined) throw new Error('the xDS server is already running');
    const server = new grpc.Server();
    const sotw = (call: AdsCall) => this.#serve(call, false);
    const delta = (call: AdsCall) => this.#serve(call, true);
    server.addService(adsServiceDefinition(this.#service), this.#service === 'sds'
      ? { StreamSecrets: sotw, DeltaSecrets: delta }
      : { StreamAggregatedResources: sotw, DeltaAggregatedResources: delta });
    const target = this.unixPath !== undefined ? `unix://${this.unixPath}` : `127.0.0.1:${this.#port}`;
    this.#port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      );
    });
    this.#server = server;
  }

  // Kills the server: open streams end with an error, the port is released.
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    this.#sessions.clear();
    server.forceShutdown();
  }

  // Replaces the resources of a type and pushes them to the streams subscribed to it.
  setResources(typeUrl: string, version: string, resources: JsonObject[]): void {
    this.#store.set(typeUrl, version, resources);
    for (const session of this.#sessions.keys()) session.push(typeUrl);
  }

  // Replaces or adds some resources of a type and pushes only those: a state-of-the-world stream
  // gets a response carrying just them (as istiod pushes an endpoint change; for RDS and EDS
  // only, whose responses need not hold every resource), a delta stream what changed as always.
  updateResources(typeUrl: string, version: string, resources: JsonObject[]): void {
    const names = new Set(this.#store.update(typeUrl, version, resources));
    for (const session of this.#sessions.keys()) session.push(typeUrl, names);
  }

  // The last response sent of a type (to read its nonce and version).
  lastResponse(typeUrl: string): RecordedResponse | undefined {
    return this.responses.findLast((r) => r.response.type_url === typeUrl);
  }

  // The first request from index `after` on that matches.
  waitForRequest(
    predicate: (recorded: RecordedRequest) => boolean,
    options: { after?: number; timeoutMs?: number } = {},
  ): Promise<RecordedRequest> {
    return waitForItem(this.requests, this.#events, 'request', predicate, { ...options, what: 'matching xDS request' });
  }

  #serve(call: AdsCall, delta: boolean): void {
    const stream = ++this.#streams;
    const write = (response: JsonObject): void => {
      if (call.cancelled || call.destroyed) return;
      this.responses.push({ stream, delta, response });
      call.write(response);
    };
    const nextNonce = (): string => String(++this.#nonce);
    const session = delta ? new DeltaSession(this.#store, write, nextNonce) : new SotwSession(this.#store, write, nextNonce);
    this.#sessions.set(session, call);
    // Headers now, so the client sees the stream established before any response.
    call.sendMetadata(new grpc.Metadata());
    call.on('data', (request: JsonObject) => {
      const recorded = { index: this.requests.length, stream, delta, request };
      this.requests.push(recorded);
      session.onRequest(request);
      this.#events.emit('request', recorded);
    });
    const forget = (): void => {
      this.#sessions.delete(session);
    };
    call.on('end', () => {
      forget();
      call.end();
    });
    call.on('cancelled', forget);
    call.on('error', forget);
  }
}

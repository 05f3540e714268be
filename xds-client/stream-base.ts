// One ADS stream (one connection attempt); SotW and delta differ only in their messages. What
// they share: node on the first request only, responses applied one at a time, and requests for
// new subscriptions held back while a response is being applied, so the server sees the ACK of
// (say) CDS before the EDS request for the clusters it brought.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { deserializer, serializer } from './ads-service.ts';
import type { DiscoveryService } from './ads-service.ts';
import type { JsonObject } from './proto-json.ts';
import type { Subscription, Subscriptions } from './subscription.ts';
import type { ResourceConsumer, ResourceUpdate, UpdateResult } from './types.ts';

export interface StreamOptions {
  address: string;
  service: DiscoveryService;
  credentials: grpc.ChannelCredentials;
  channelOptions: grpc.ChannelOptions;
  node: JsonObject;
  subscriptions: Subscriptions;
  consumer: ResourceConsumer;
}

export interface StreamEvents {
  established: []; // the server answered: response headers or a response
  response: []; // a response arrived: the stream is doing real work
  closed: [reason: string]; // once, after the update being applied (if any) finished
  invalid: [typeUrl: string, version: string, error: string]; // NACKed without reaching the consumer
}

export interface StreamMethod {
  path: string;
  request: string; // message type names
  response: string;
}

// google.rpc.Code INVALID_ARGUMENT, which Envoy puts in error_detail when it rejects an update.
export const INVALID_ARGUMENT = 3;

export abstract class AdsStream<Response> extends EventEmitter<StreamEvents> {
  protected readonly subscriptions: Subscriptions;
  readonly #options: StreamOptions;
  readonly #method: StreamMethod;
  #client: grpc.Client | undefined;
  #call: grpc.ClientDuplexStream<JsonObject, Response> | undefined;
  #sentNode = false;
  #established = false;
  #closed = false;
  #busy = false;
  readonly #pending = new Set<string>();
  #queue: Promise<void> = Promise.resolve();

  constructor(options: StreamOptions, method: StreamMethod) {
    super();
    this.#options = options;
    this.#method = method;
    this.subscriptions = options.subscriptions;
  }

  start(): void {
    try {
      this.#open();
    } catch (error) {
      this.#end(errorMessage(error)); // e.g. a target grpc-js cannot parse
    }
  }

  #open(): void {
    const { address, credentials, channelOptions } = this.#options;
    // A channel per attempt, with its own subchannel, so that our back-off alone decides when
    // to reconnect (grpc-js would otherwise add its own, up to two minutes).
    const client = new grpc.Client(address, credentials, { ...channelOptions, 'grpc.use_local_subchannel_pool': 1 });
    this.#client = client;
    const call = client.makeBidiStreamRequest(
      this.#method.path,
      serializer(this.#method.request),
      deserializer<Response>(this.#method.response),
    );
    this.#call = call;
    call.on('metadata', () => this.#establish());
    call.on('data', (response: Response) => {
      this.#establish();
      this.emit('response');
      this.#queue = this.#queue.then(() => this.#apply(response));
    });
    call.on('error', () => {}); // the status event that follows carries the reason
    call.on('status', (status: grpc.StatusObject) => this.#end(`${grpc.status[status.code]}: ${status.details}`));
    const subscriptions = this.subscriptions.inWarmingOrder();
    for (const subscription of subscriptions) subscription.resetStream();
    for (const subscription of subscriptions) this.requestSubscription(subscription);
  }

  // The proxy changed the names it wants for a type.
  namesChanged(typeUrl: string): void {
    if (this.#closed) return;
    if (this.#busy) {
      this.#pending.add(typeUrl);
      return;
    }
    const subscription = this.subscriptions.get(typeUrl);
    if (subscription !== undefined) this.requestSubscription(subscription);
  }

  close(reason = 'closed by the client'): void {
    if (this.#closed) return;
    this.#call?.cancel();
    this.#end(reason);
  }

  // Sends the request that (re)states this stream's interest in a type, if there is news.
  protected abstract requestSubscription(subscription: Subscription): void;

  // Applies a response and sends its ACK or NACK.
  protected abstract handleResponse(response: Response): Promise<void>;

  protected send(request: JsonObject): void {
    if (this.#closed || this.#call === undefined) return;
    const message = this.#sentNode ? request : { node: this.#options.node, ...request };
    this.#sentNode = true;
    this.#call.write(message);
  }

  // Decodes a response into an update and returns the consumer's verdict on it (a throw is a
  // rejection), with the update when accepted. A response that does not decode never reaches
  // the consumer: it is reported as 'invalid' and rejected.
  protected async decodeAndDeliver(
    typeUrl: string,
    version: string,
    decode: () => ResourceUpdate,
  ): Promise<{ ok: true; update: ResourceUpdate } | { ok: false; error: string }> {
    let update: ResourceUpdate;
    try {
      update = decode();
    } catch (error) {
      const message = errorMessage(error);
      this.emit('invalid', typeUrl, version, message);
      return { ok: false, error: message };
    }
    let result: UpdateResult;
    try {
      result = await this.#options.consumer(typeUrl, update);
    } catch (error) {
      result = { ok: false, error: errorMessage(error) };
    }
    return result.ok ? { ok: true, update } : result;
  }

  #establish(): void {
    if (this.#established || this.#closed) return;
    this.#established = true;
    this.emit('established');
  }

  async #apply(response: Response): Promise<void> {
    // Responses not yet applied when the stream ends are dropped: they were not ACKed, so the
    // server sends their content again on the next stream.
    if (this.#closed) return;
    this.#busy = true;
    try {
      await this.handleResponse(response);
    } catch (error) {
      this.close(`failed to apply a response: ${errorMessage(error)}`);
    } finally {
      this.#busy = false;
    }
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const subscription of this.subscriptions.inWarmingOrder()) {
      if (pending.includes(subscription.typeUrl)) this.namesChanged(subscription.typeUrl);
    }
  }

  #end(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client?.close();
    void this.#queue.then(() => this.emit('closed', reason));
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

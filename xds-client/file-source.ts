// Envoy's path_config_source: a file holding one DiscoveryResponse (YAML or JSON: version_info
// and resources, each with "@type"), the whole set of one resource type. Replace it atomically
// (write elsewhere, then rename over it); every change in its directory triggers a re-read, so
// a rename, an in-place write or a Kubernetes ConfigMap symlink swap are all seen. A file that
// does not parse or that the consumer rejects keeps the last good set and reports the error.
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { DISCOVERY_RESPONSE } from './ads-service.ts';
import type { DiscoveryResponseMessage } from './ads-service.ts';
import { decodeSotwResponse } from './decode.ts';
import { encodeJson, typeNameOf } from './proto-json.ts';
import { requireMessage } from './protos.ts';
import { errorMessage } from './stream-base.ts';
import { Subscription } from './subscription.ts';
import type { ResourceConsumer, ResourceUpdate, TypeStats, UpdateResult, XdsLogger } from './types.ts';

export interface FileSourceOptions {
  path: string;
  typeUrl: string; // the type the file must hold (it backs lds_config, cds_config, ...)
  // path_config_source.watched_directory: changes there reload the file too (a mounted secret
  // or ConfigMap swaps a symlink in its own directory, which may not be the file's).
  watchedDirectory?: string;
  onResources: ResourceConsumer;
  // The file could not be read or parsed, so onResources was not called; the last good set stays.
  onInvalid?: (error: string) => void;
  logger?: XdsLogger;
}

export interface FileSource {
  // Starts watching and loads the file; resolves with the first load's outcome, rejects when
  // the file's directory cannot be watched.
  start(): Promise<UpdateResult>;
  stop(): void;
  state(): TypeStats;
}

export function createFileSource(options: FileSourceOptions): FileSource {
  return new WatchedFile(options);
}

class WatchedFile implements FileSource {
  readonly #options: FileSourceOptions;
  readonly #subscription: Subscription;
  #watcher: FSWatcher | undefined;
  #directoryWatcher: FSWatcher | undefined;
  #lastText: string | undefined;
  #lastResult: UpdateResult = { ok: false, error: 'not loaded yet' };
  #loading = false;
  #dirty = false;
  #stopped = false;

  constructor(options: FileSourceOptions) {
    this.#options = options;
    this.#subscription = new Subscription(options.typeUrl, true);
  }

  async start(): Promise<UpdateResult> {
    // Watch before the first read, so that a change during it is not missed.
    this.#watcher = watch(path.dirname(this.#options.path), () => this.#changed());
    this.#watcher.on('error', (error) => this.#options.logger?.warn(`${this.#options.path}: watch failed: ${error.message}`));
    const watched = this.#options.watchedDirectory;
    if (watched !== undefined && path.resolve(watched) !== path.resolve(path.dirname(this.#options.path))) {
      this.#directoryWatcher = watch(watched, () => this.#changed());
      this.#directoryWatcher.on('error', (error) => this.#options.logger?.warn(`${watched}: watch failed: ${error.message}`));
    }
    return this.#reload();
  }

  stop(): void {
    this.#stopped = true;
    this.#watcher?.close();
    this.#directoryWatcher?.close();
  }

  state(): TypeStats {
    return this.#subscription.stats();
  }

  #changed(): void {
    if (this.#stopped) return;
    if (this.#loading) {
      this.#dirty = true; // coalesce: one more read once the current one is done
      return;
    }
    void this.#reload();
  }

  async #reload(): Promise<UpdateResult> {
    this.#loading = true;
    try {
      do {
        this.#dirty = false;
        this.#lastResult = await this.#load();
      } while (this.#dirty && !this.#stopped);
    } finally {
      this.#loading = false;
    }
    return this.#lastResult;
  }

  async #load(): Promise<UpdateResult> {
    const file = this.#options.path;
    let text: string;
    try {
      text = await readRegularFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? errorMessage(error);
      return this.#invalid(`cannot read the file (${code})`);
    }
    // Replacing a file fires several events; the same content is not news.
    if (text === this.#lastText) return this.#lastResult;
    this.#lastText = text;
    let update: ResourceUpdate;
    try {
      update = this.#parse(text);
    } catch (error) {
      return this.#invalid(errorMessage(error));
    }
    let result: UpdateResult;
    try {
      result = await this.#options.onResources(this.#options.typeUrl, update);
    } catch (error) {
      result = { ok: false, error: errorMessage(error) };
    }
    if (!result.ok) return this.#rejected(result.error);
    this.#subscription.accept(update.version, update.resources.map((r) => [r.name, r.version]), update.removed, Date.now());
    this.#options.logger?.info(`${file}: loaded version "${update.version}" (${update.resources.length} resources)`);
    return result;
  }

  #parse(text: string): ResourceUpdate {
    const { version, resources } = parseDiscoveryFile(text, this.#options.typeUrl);
    const names = new Set(resources.map((r) => r.name));
    const removed = [...this.#subscription.known.keys()].filter((name) => !names.has(name));
    return { version, resources, removed, complete: true };
  }

  #invalid(error: string): UpdateResult {
    this.#options.onInvalid?.(error);
    return this.#rejected(error);
  }

  #rejected(error: string): UpdateResult {
    this.#subscription.reject(error);
    this.#options.logger?.warn(`${this.#options.path}: ${error}; keeping the last good set`);
    return { ok: false, error };
  }
}

/**
 * A file's text (YAML or JSON) as the DiscoveryResponse of `typeUrl` it must hold: its version and
 * decoded resources. Throws a one-line error when it does not parse or holds another type. The
 * watcher and `legate validate` read files the same way.
 */
export function parseDiscoveryFile(text: string, typeUrl: string): Pick<ResourceUpdate, 'version' | 'resources'> {
  const document: unknown = parse(text);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new Error('expected a DiscoveryResponse: an object with version_info and resources');
  }
  const json = { ...(document as Record<string, unknown>) };
  // YAML reads an unquoted version such as 1 as a number.
  if (typeof json.version_info === 'number') json.version_info = String(json.version_info);
  const type = requireMessage(DISCOVERY_RESPONSE);
  const response = type.decode(encodeJson(type, json)) as unknown as DiscoveryResponseMessage;
  if (response.type_url !== '' && typeNameOf(response.type_url) !== typeNameOf(typeUrl)) {
    throw new Error(`type_url is ${response.type_url}; this file must hold ${typeUrl}`);
  }
  return { version: response.version_info, resources: decodeSotwResponse(typeUrl, response, () => true) };
}

/**
 * A regular file's text. The file is read whole, so /dev/zero would be read until memory ran out
 * and a FIFO would block forever (Envoy refuses /dev, /proc and /sys paths): anything else fails
 * with code 'not a regular file'. Opened non-blocking, so a FIFO's open does not wait for a writer.
 */
async function readRegularFile(file: string): Promise<string> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw Object.assign(new Error(`${file}: not a regular file`), { code: 'not a regular file' });
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

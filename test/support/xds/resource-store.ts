// The management server's resources: per type URL, a version and named resources (proto3 JSON
// with "@type"), each with a content hash as its delta version.
import { createHash } from 'node:crypto';
import { resourceNameOf, type JsonObject } from '../../../xds-client/index.ts';

export interface StoredResource {
  name: string;
  version: string;
  json: JsonObject;
}

export interface ResourceSet {
  version: string;
  resources: Map<string, StoredResource>;
}

export class ResourceStore {
  readonly #byType = new Map<string, ResourceSet>();

  get(typeUrl: string): ResourceSet | undefined {
    return this.#byType.get(typeUrl);
  }

  set(typeUrl: string, version: string, resources: JsonObject[]): void {
    this.#byType.set(typeUrl, { version, resources: this.#stored(typeUrl, new Map(), resources) });
  }

  /** Replaces or adds these resources of a type, keeping the others; returns their names. */
  update(typeUrl: string, version: string, resources: JsonObject[]): string[] {
    const set = this.#byType.get(typeUrl);
    if (set === undefined) this.#byType.set(typeUrl, { version, resources: this.#stored(typeUrl, new Map(), resources) });
    else {
      set.version = version;
      this.#stored(typeUrl, set.resources, resources);
    }
    return resources.map((json) => resourceNameOf(typeUrl, json));
  }

  // Named as the client names them (a ClusterLoadAssignment by cluster_name, a Workload by uid).
  #stored(typeUrl: string, byName: Map<string, StoredResource>, resources: JsonObject[]): Map<string, StoredResource> {
    for (const json of resources) {
      const name = resourceNameOf(typeUrl, json);
      if (name === '') throw new Error(`resource without a name: ${JSON.stringify(json)}`);
      const hash = createHash('sha256').update(JSON.stringify(json)).digest('hex').slice(0, 12);
      byName.set(name, { name, version: hash, json });
    }
    return byName;
  }
}

// route.v3.RateLimit -> the descriptors the ratelimit filter sends: each rate_limits entry of the
// route (and of its virtual host, as vh_rate_limits says) makes one descriptor from its actions,
// in order. An action that cannot produce its entry drops the whole descriptor (a missing header
// unless skip_if_absent, which only leaves its entry out). Compiled once per policy list.
import type { RateLimitAction, RateLimitPolicy } from '../../config/model.ts';
import type { Descriptor, DescriptorEntry } from '../../ratelimit/index.ts';
import { compileHeaderMatcher, requestHeaderGetter } from '../../router/index.ts';
import { peerIp } from '../downstream-address.ts';
import type { HttpStream } from '../stream.ts';

/** What a descriptor may need from outside the request. */
export interface DescriptorContext {
  /** node.cluster: the source_cluster value. */
  localCluster: string;
  /** The cluster the route sends this request to: the destination_cluster value. */
  targetCluster: string;
}

// An entry, undefined to leave the entry out, or null to drop the descriptor.
type Producer = (stream: HttpStream, ctx: DescriptorContext) => DescriptorEntry | undefined | null;

type CompiledPolicy = readonly Producer[];

const compiled = new WeakMap<readonly RateLimitPolicy[], readonly CompiledPolicy[]>();

/** Appends the descriptors of a route's or virtual host's rate_limits to `out`. */
export function addDescriptors(out: Descriptor[], policies: readonly RateLimitPolicy[], stream: HttpStream, ctx: DescriptorContext): void {
  let list = compiled.get(policies);
  if (list === undefined) {
    list = policies.map((policy) => policy.actions.map(compileAction));
    compiled.set(policies, list);
  }
  for (const producers of list) {
    const entries: DescriptorEntry[] = [];
    let dropped = false;
    for (const produce of producers) {
      const entry = produce(stream, ctx);
      if (entry === null) {
        dropped = true;
        break;
      }
      if (entry !== undefined) entries.push(entry);
    }
    if (!dropped && entries.length > 0) out.push(entries);
  }
}

function compileAction(action: RateLimitAction): Producer {
  switch (action.kind) {
    case 'source_cluster':
      return (_stream, ctx) => ({ key: 'source_cluster', value: ctx.localCluster });
    case 'destination_cluster':
      return (_stream, ctx) => ({ key: 'destination_cluster', value: ctx.targetCluster });
    case 'remote_address':
      return (stream) => {
        const address = peerIp(stream.connection.socket, stream.connection.facts);
        return address === undefined ? null : { key: 'remote_address', value: address };
      };
    case 'generic_key': {
      const entry = { key: action.descriptorKey, value: action.descriptorValue };
      return () => entry;
    }
    case 'request_headers': {
      const { headerName, descriptorKey, skipIfAbsent } = action;
      const pseudo = headerName.startsWith(':') ? requestHeaderGetter(headerName) : undefined;
      return (stream) => {
        // Envoy takes the header's first value; :path, :authority and :method are headers too.
        const raw = pseudo !== undefined ? pseudo(stream.request) : stream.request.headers[headerName];
        const value = Array.isArray(raw) ? raw[0] : raw;
        if (value === undefined || value === '') return skipIfAbsent ? undefined : null;
        return { key: descriptorKey, value };
      };
    }
    case 'header_value_match': {
      const matchers = action.headers.map((m) => ({ get: requestHeaderGetter(m.name), matcher: compileHeaderMatcher(m) }));
      const entry = { key: action.descriptorKey, value: action.descriptorValue };
      const { expectMatch } = action;
      return (stream) => {
        const request = stream.request;
        const all = matchers.every((m) => m.matcher.matches(m.get(request)));
        return all === expectMatch ? entry : null;
      };
    }
  }
}

// route.v3.RateLimit actions -> descriptors, as Envoy builds them for the ratelimit filter.
import t from 'tap';
import type { HeaderMatcher, RateLimitAction, RateLimitPolicy } from '../../../proxy/config/model.ts';
import { addDescriptors, type DescriptorContext } from '../../../proxy/http/filters/ratelimit-descriptors.ts';
import type { HttpStream } from '../../../proxy/http/stream.ts';
import type { Descriptor } from '../../../proxy/ratelimit/index.ts';

function stream(headers: Record<string, string | string[]>, opts: { remoteAddress?: string; method?: string } = { remoteAddress: '10.1.2.3' }): HttpStream {
  return {
    connection: { socket: { remoteAddress: opts.remoteAddress } },
    request: { authority: 'example.com', path: '/', method: opts.method ?? 'GET', scheme: 'http', headers },
  } as unknown as HttpStream;
}

const ctx: DescriptorContext = { localCluster: 'ingress', targetCluster: 'backend' };

function build(policies: RateLimitPolicy[], s: HttpStream): Descriptor[] {
  const out: Descriptor[] = [];
  addDescriptors(out, policies, s, ctx);
  return out;
}

const exact = (name: string, value: string): HeaderMatcher => ({
  name,
  kind: 'exact',
  value,
  ignoreCase: false,
  presentMatch: false,
  invertMatch: false,
  treatMissingHeaderAsEmpty: false,
});

const policy = (...actions: RateLimitAction[]): RateLimitPolicy => ({ actions });

t.test('each action adds its entry, in order', async (t) => {
  const policies = [
    policy(
      { kind: 'generic_key', descriptorKey: 'generic_key', descriptorValue: 'api' },
      { kind: 'remote_address' },
      { kind: 'source_cluster' },
      { kind: 'destination_cluster' },
      { kind: 'request_headers', headerName: 'x-tenant', descriptorKey: 'tenant', skipIfAbsent: false },
      { kind: 'header_value_match', descriptorKey: 'header_match', descriptorValue: 'is-post', expectMatch: true, headers: [exact(':method', 'POST')] },
    ),
  ];
  t.same(build(policies, stream({ 'x-tenant': ['acme', 'other'] }, { remoteAddress: '10.1.2.3', method: 'POST' })), [
    [
      { key: 'generic_key', value: 'api' },
      { key: 'remote_address', value: '10.1.2.3' },
      { key: 'source_cluster', value: 'ingress' },
      { key: 'destination_cluster', value: 'backend' },
      { key: 'tenant', value: 'acme' },
      { key: 'header_match', value: 'is-post' },
    ],
  ]);
});

t.test('one descriptor per rate_limits entry; an action that cannot produce drops only its descriptor', async (t) => {
  const policies = [
    policy({ kind: 'request_headers', headerName: 'x-user', descriptorKey: 'user', skipIfAbsent: false }),
    policy({ kind: 'generic_key', descriptorKey: 'generic_key', descriptorValue: 'all' }),
    policy({ kind: 'header_value_match', descriptorKey: 'header_match', descriptorValue: 'admin', expectMatch: true, headers: [exact('x-role', 'admin')] }),
    policy({ kind: 'header_value_match', descriptorKey: 'not_admin', descriptorValue: 'yes', expectMatch: false, headers: [exact('x-role', 'admin')] }),
  ];
  t.same(build(policies, stream({})), [[{ key: 'generic_key', value: 'all' }], [{ key: 'not_admin', value: 'yes' }]]);
  t.same(build(policies, stream({ 'x-user': 'u1', 'x-role': 'admin' })), [
    [{ key: 'user', value: 'u1' }],
    [{ key: 'generic_key', value: 'all' }],
    [{ key: 'header_match', value: 'admin' }],
  ]);
});

t.test('skip_if_absent leaves the entry out and keeps the descriptor', async (t) => {
  const policies = [
    policy(
      { kind: 'generic_key', descriptorKey: 'route', descriptorValue: 'login' },
      { kind: 'request_headers', headerName: 'x-user', descriptorKey: 'user', skipIfAbsent: true },
    ),
    policy({ kind: 'request_headers', headerName: 'x-user', descriptorKey: 'user', skipIfAbsent: true }),
  ];
  t.same(build(policies, stream({})), [[{ key: 'route', value: 'login' }]], 'a descriptor left empty is not sent');
  t.same(build(policies, stream({ 'x-user': 'u1' })), [
    [
      { key: 'route', value: 'login' },
      { key: 'user', value: 'u1' },
    ],
    [{ key: 'user', value: 'u1' }],
  ]);
});

t.test('request_headers reads pseudo-headers too', async (t) => {
  const policies = [policy({ kind: 'request_headers', headerName: ':path', descriptorKey: 'path', skipIfAbsent: false }, { kind: 'request_headers', headerName: ':method', descriptorKey: 'method', skipIfAbsent: false })];
  t.same(build(policies, stream({}, { method: 'PUT' })), [
    [
      { key: 'path', value: '/' },
      { key: 'method', value: 'PUT' },
    ],
  ]);
});

t.test('remote_address needs the peer address', async (t) => {
  t.same(build([policy({ kind: 'remote_address' })], stream({}, {})), []);
});

t.test('the same policy list compiles once and keeps working', async (t) => {
  const policies = [policy({ kind: 'request_headers', headerName: 'x-a', descriptorKey: 'a', skipIfAbsent: false })];
  for (const value of ['1', '2', '3']) t.same(build(policies, stream({ 'x-a': value })), [[{ key: 'a', value }]]);
});

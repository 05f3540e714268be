// Envoy's downstream-address rules (use_remote_address, xff_num_trusted_hops, skip_xff_append,
// internal_address_config) and the header mutations that go with them. The first six cases follow
// the x-forwarded-for examples of Envoy's HTTP header manipulation docs, with other addresses.
import t from 'tap';
import type { InternalAddressConfig } from '../../../proxy/config/model.ts';
import { compileDownstreamAddressConfig, mutateDownstreamAddress, serverLocalAddress, type DownstreamAddressVerdict } from '../../../proxy/http/downstream-address.ts';

const LOCAL = '10.9.9.9'; // the proxy's own address, appended to XFF for a loopback peer

interface Setup {
  useRemoteAddress?: boolean;
  hops?: number;
  skipXffAppend?: boolean;
  internal?: InternalAddressConfig;
}

interface Case {
  name: string;
  setup: Setup;
  peer: string | undefined;
  secure?: boolean;
  headers: Record<string, string>;
  verdict: DownstreamAddressVerdict;
  after: Record<string, string>;
}

const TEN = { unixSockets: false, cidrRanges: [{ addressPrefix: '10.0.0.0', prefixLen: 8 }] };
const PRIVATE = { unixSockets: false, cidrRanges: [] }; // set without ranges: Envoy's private set
const SPOOF = { 'x-envoy-internal': 'true', 'x-envoy-upstream-rq-timeout-ms': '1', 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '9' };

const cases: Case[] = [
  {
    name: 'docs 1: edge proxy, nothing trusted in front: the peer is the client',
    setup: { useRemoteAddress: true },
    peer: '198.51.100.20',
    headers: { 'x-forwarded-for': '203.0.113.7, 203.0.113.8', 'x-envoy-internal': 'true' },
    verdict: { remoteAddress: '198.51.100.20', fromXff: false, internal: false, edge: true },
    after: { 'x-forwarded-for': '203.0.113.7, 203.0.113.8,198.51.100.20', 'x-forwarded-proto': 'http', 'x-envoy-external-address': '198.51.100.20' },
  },
  {
    name: 'docs 2: internal proxy behind that edge: the last XFF address is the client',
    setup: { internal: TEN },
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': '203.0.113.7, 203.0.113.8,198.51.100.20', 'x-forwarded-proto': 'https', 'x-envoy-external-address': '198.51.100.20', 'x-envoy-internal': 'true' },
    verdict: { remoteAddress: '198.51.100.20', fromXff: true, internal: false, edge: false },
    after: { 'x-forwarded-for': '203.0.113.7, 203.0.113.8,198.51.100.20', 'x-forwarded-proto': 'https', 'x-envoy-external-address': '198.51.100.20' },
  },
  {
    name: 'docs 3: edge proxy with two trusted proxies in front: 2nd address from the right',
    setup: { useRemoteAddress: true, hops: 2 },
    peer: '198.51.100.20',
    headers: { 'x-forwarded-for': '203.0.113.7, 203.0.113.8, 203.0.113.9' },
    verdict: { remoteAddress: '203.0.113.8', fromXff: true, internal: false, edge: true },
    after: { 'x-forwarded-for': '203.0.113.7, 203.0.113.8, 203.0.113.9,198.51.100.20', 'x-forwarded-proto': 'http', 'x-envoy-external-address': '203.0.113.8' },
  },
  {
    name: 'docs 4: internal proxy behind that edge, 2 hops: 3rd address from the right',
    setup: { hops: 2, internal: TEN },
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': '203.0.113.7, 203.0.113.8, 203.0.113.9,198.51.100.20', 'x-forwarded-proto': 'http' },
    verdict: { remoteAddress: '203.0.113.8', fromXff: true, internal: false, edge: false },
    after: { 'x-forwarded-for': '203.0.113.7, 203.0.113.8, 203.0.113.9,198.51.100.20', 'x-forwarded-proto': 'http' },
  },
  {
    name: 'docs 5: internal proxy, internal client, no XFF: external (XFF decides), peer for logging',
    setup: { internal: TEN },
    peer: '10.20.0.5',
    headers: { 'x-envoy-internal': 'true', 'x-envoy-retry-on': '5xx' },
    verdict: { remoteAddress: '10.20.0.5', fromXff: false, internal: false, edge: false },
    after: { 'x-forwarded-proto': 'http' },
  },
  {
    name: 'docs 6: internal proxy, request proxied by another Envoy with one internal XFF address: internal',
    setup: { internal: TEN },
    peer: '10.20.0.6',
    headers: { 'x-forwarded-for': '10.20.0.5', 'x-envoy-retry-on': '5xx', 'x-envoy-upstream-rq-timeout-ms': '250' },
    verdict: { remoteAddress: '10.20.0.5', fromXff: true, internal: true, edge: false },
    after: { 'x-forwarded-for': '10.20.0.5', 'x-forwarded-proto': 'http', 'x-envoy-internal': 'true', 'x-envoy-retry-on': '5xx', 'x-envoy-upstream-rq-timeout-ms': '250' },
  },
  {
    name: 'external client behind a trusted internal load balancer (1 hop): external, stripped',
    setup: { useRemoteAddress: true, hops: 1, internal: TEN },
    peer: '10.0.0.2',
    headers: { 'x-forwarded-for': '203.0.113.50', ...SPOOF, 'x-forwarded-proto': 'https' },
    verdict: { remoteAddress: '203.0.113.50', fromXff: true, internal: false, edge: true },
    after: { 'x-forwarded-for': '203.0.113.50,10.0.0.2', 'x-forwarded-proto': 'https', 'x-envoy-external-address': '203.0.113.50' },
  },
  {
    name: 'external client spoofing x-envoy-internal, timeouts and retries: all stripped',
    setup: { useRemoteAddress: true, internal: PRIVATE },
    peer: '203.0.113.50',
    headers: { ...SPOOF, 'x-envoy-retry-grpc-on': 'cancelled', 'x-envoy-upstream-rq-per-try-timeout-ms': '1', 'x-envoy-hedge-on-per-try-timeout': 'true', 'x-envoy-expected-rq-timeout-ms': '1', 'x-envoy-external-address': '10.0.0.1', 'x-envoy-decorator-operation': 'op', 'x-envoy-original-path': '/admin' },
    verdict: { remoteAddress: '203.0.113.50', fromXff: false, internal: false, edge: true },
    after: { 'x-forwarded-for': '203.0.113.50', 'x-forwarded-proto': 'http', 'x-envoy-external-address': '203.0.113.50' },
  },
  {
    name: 'loopback peer whose XFF shows an external client (use_remote_address false, 0 hops): external, stripped',
    setup: { internal: PRIVATE },
    peer: '127.0.0.1',
    headers: { 'x-forwarded-for': '203.0.113.60', ...SPOOF },
    verdict: { remoteAddress: '203.0.113.60', fromXff: true, internal: false, edge: false },
    after: { 'x-forwarded-for': '203.0.113.60', 'x-forwarded-proto': 'http' },
  },
  {
    name: 'loopback peer with XFF and use_remote_address: external (XFF present), our own address appended',
    setup: { useRemoteAddress: true, internal: PRIVATE },
    peer: '127.0.0.1',
    headers: { 'x-forwarded-for': '203.0.113.60', ...SPOOF },
    verdict: { remoteAddress: '127.0.0.1', fromXff: false, internal: false, edge: true },
    after: { 'x-forwarded-for': `203.0.113.60,${LOCAL}`, 'x-forwarded-proto': 'http', 'x-envoy-external-address': '127.0.0.1' },
  },
  {
    name: 'loopback peer without XFF under the private set: internal, control headers kept',
    setup: { useRemoteAddress: true, internal: PRIVATE },
    peer: '::ffff:127.0.0.1',
    headers: { 'x-envoy-retry-on': '5xx' },
    verdict: { remoteAddress: '127.0.0.1', fromXff: false, internal: true, edge: false },
    after: { 'x-forwarded-for': LOCAL, 'x-forwarded-proto': 'http', 'x-envoy-internal': 'true', 'x-envoy-retry-on': '5xx' },
  },
  {
    name: 'no internal_address_config: nothing is internal, not even loopback (Envoy >= 1.33)',
    setup: { useRemoteAddress: true },
    peer: '127.0.0.1',
    headers: { ...SPOOF },
    verdict: { remoteAddress: '127.0.0.1', fromXff: false, internal: false, edge: true },
    after: { 'x-forwarded-for': LOCAL, 'x-forwarded-proto': 'http', 'x-envoy-external-address': '127.0.0.1' },
  },
  {
    name: 'no internal_address_config, use_remote_address false: a single private XFF address is still external',
    setup: {},
    peer: '10.20.0.6',
    headers: { 'x-forwarded-for': '10.20.0.5', ...SPOOF },
    verdict: { remoteAddress: '10.20.0.5', fromXff: true, internal: false, edge: false },
    after: { 'x-forwarded-for': '10.20.0.5', 'x-forwarded-proto': 'http' },
  },
  {
    name: 'cidr_ranges decide: a peer in 100.64.0.0/10 is internal',
    setup: { useRemoteAddress: true, internal: { unixSockets: false, cidrRanges: [{ addressPrefix: '100.64.0.0', prefixLen: 10 }] } },
    peer: '100.127.3.4',
    headers: { 'x-envoy-max-retries': '3' },
    verdict: { remoteAddress: '100.127.3.4', fromXff: false, internal: true, edge: false },
    after: { 'x-forwarded-for': '100.127.3.4', 'x-forwarded-proto': 'http', 'x-envoy-internal': 'true', 'x-envoy-max-retries': '3' },
  },
  {
    name: 'cidr_ranges decide: an RFC 1918 peer outside them is external',
    setup: { useRemoteAddress: true, internal: { unixSockets: false, cidrRanges: [{ addressPrefix: '100.64.0.0', prefixLen: 10 }] } },
    peer: '10.1.2.3',
    headers: { 'x-envoy-max-retries': '3' },
    verdict: { remoteAddress: '10.1.2.3', fromXff: false, internal: false, edge: true },
    after: { 'x-forwarded-for': '10.1.2.3', 'x-forwarded-proto': 'http', 'x-envoy-external-address': '10.1.2.3' },
  },
  {
    name: 'cidr_ranges decide for IPv6 too',
    setup: { useRemoteAddress: true, internal: { unixSockets: false, cidrRanges: [{ addressPrefix: '2001:db8:aa::', prefixLen: 48 }] } },
    peer: '2001:db8:aa::7',
    headers: {},
    verdict: { remoteAddress: '2001:db8:aa::7', fromXff: false, internal: true, edge: false },
    after: { 'x-forwarded-for': '2001:db8:aa::7', 'x-forwarded-proto': 'http', 'x-envoy-internal': 'true' },
  },
  {
    name: 'skip_xff_append: XFF left as it came (absent stays absent)',
    setup: { useRemoteAddress: true, skipXffAppend: true, internal: PRIVATE },
    peer: '10.1.2.3',
    headers: {},
    verdict: { remoteAddress: '10.1.2.3', fromXff: false, internal: true, edge: false },
    after: { 'x-forwarded-proto': 'http', 'x-envoy-internal': 'true' },
  },
  {
    name: 'skip_xff_append: XFF left as it came (present stays the same)',
    setup: { useRemoteAddress: true, skipXffAppend: true, internal: PRIVATE },
    peer: '203.0.113.5',
    headers: { 'x-forwarded-for': '198.51.100.1' },
    verdict: { remoteAddress: '203.0.113.5', fromXff: false, internal: false, edge: true },
    after: { 'x-forwarded-for': '198.51.100.1', 'x-forwarded-proto': 'http', 'x-envoy-external-address': '203.0.113.5' },
  },
  {
    name: 'use_remote_address, 0 hops: the downstream x-forwarded-proto is overwritten',
    setup: { useRemoteAddress: true },
    peer: '203.0.113.5',
    secure: true,
    headers: { 'x-forwarded-proto': 'http' },
    verdict: { remoteAddress: '203.0.113.5', fromXff: false, internal: false, edge: true },
    after: { 'x-forwarded-for': '203.0.113.5', 'x-forwarded-proto': 'https', 'x-envoy-external-address': '203.0.113.5' },
  },
  {
    name: 'trusted hops, too few XFF entries: the peer is the client',
    setup: { useRemoteAddress: true, hops: 2 },
    peer: '198.51.100.20',
    headers: { 'x-forwarded-for': '203.0.113.9' },
    verdict: { remoteAddress: '198.51.100.20', fromXff: false, internal: false, edge: true },
    after: { 'x-forwarded-for': '203.0.113.9,198.51.100.20', 'x-forwarded-proto': 'http', 'x-envoy-external-address': '198.51.100.20' },
  },
  {
    name: 'an XFF entry that is not an IP: the peer stands in, external',
    setup: { internal: PRIVATE },
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': 'unknown', 'x-envoy-retry-on': '5xx' },
    verdict: { remoteAddress: '10.1.1.1', fromXff: false, internal: false, edge: false },
    after: { 'x-forwarded-for': 'unknown', 'x-forwarded-proto': 'http' },
  },
  {
    name: 'XFF entries are trimmed; IPv6 comes out canonical',
    setup: { hops: 1 },
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': '203.0.113.1,  2001:DB8:0::1 ,\t198.51.100.2' },
    verdict: { remoteAddress: '2001:db8::1', fromXff: true, internal: false, edge: false },
    after: { 'x-forwarded-for': '203.0.113.1,  2001:DB8:0::1 ,\t198.51.100.2', 'x-forwarded-proto': 'http' },
  },
  {
    name: 'a single XFF address with trusted hops is never internal (use_remote_address false)',
    setup: { hops: 1, internal: PRIVATE },
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': '10.0.0.5, 10.0.0.6' },
    verdict: { remoteAddress: '10.0.0.5', fromXff: true, internal: false, edge: false },
    after: { 'x-forwarded-for': '10.0.0.5, 10.0.0.6', 'x-forwarded-proto': 'http' },
  },
  {
    name: 'an empty XFF counts as present: not internal under use_remote_address',
    setup: { useRemoteAddress: true, internal: PRIVATE },
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': '' },
    verdict: { remoteAddress: '10.1.1.1', fromXff: false, internal: false, edge: true },
    after: { 'x-forwarded-for': '10.1.1.1', 'x-forwarded-proto': 'http', 'x-envoy-external-address': '10.1.1.1' },
  },
  {
    name: 'IPv4-mapped peer is read as IPv4',
    setup: { useRemoteAddress: true },
    peer: '::ffff:203.0.113.5',
    headers: {},
    verdict: { remoteAddress: '203.0.113.5', fromXff: false, internal: false, edge: true },
    after: { 'x-forwarded-for': '203.0.113.5', 'x-forwarded-proto': 'http', 'x-envoy-external-address': '203.0.113.5' },
  },
  {
    name: 'unix socket peer with unix_sockets: internal, nothing appended',
    setup: { useRemoteAddress: true, internal: { unixSockets: true, cidrRanges: [] } },
    peer: undefined,
    headers: { 'x-envoy-retry-on': '5xx' },
    verdict: { remoteAddress: '', fromXff: false, internal: true, edge: false },
    after: { 'x-forwarded-proto': 'http', 'x-envoy-internal': 'true', 'x-envoy-retry-on': '5xx' },
  },
  {
    name: 'unix socket peer without unix_sockets: external edge, no external address',
    setup: { useRemoteAddress: true, internal: { unixSockets: false, cidrRanges: [] } },
    peer: undefined,
    headers: { 'x-envoy-retry-on': '5xx', 'x-envoy-downstream-service-node': 'n' },
    verdict: { remoteAddress: '', fromXff: false, internal: false, edge: true },
    after: { 'x-forwarded-proto': 'http' },
  },
  {
    name: 'external but not edge: edge-only headers and x-envoy-external-address pass',
    setup: {},
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': '203.0.113.9', 'x-envoy-decorator-operation': 'op', 'x-envoy-downstream-service-cluster': 'front', 'x-envoy-external-address': '203.0.113.9', 'x-envoy-force-trace': '1' },
    verdict: { remoteAddress: '203.0.113.9', fromXff: true, internal: false, edge: false },
    after: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'http', 'x-envoy-decorator-operation': 'op', 'x-envoy-downstream-service-cluster': 'front', 'x-envoy-external-address': '203.0.113.9' },
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const config = compileDownstreamAddressConfig(
      { useRemoteAddress: c.setup.useRemoteAddress ?? false, xffNumTrustedHops: c.setup.hops ?? 0, skipXffAppend: c.setup.skipXffAppend ?? false, internalAddressConfig: c.setup.internal },
      LOCAL,
    );
    const headers: Record<string, string | string[]> = { host: 'example.com', ...c.headers };
    const verdict = mutateDownstreamAddress(config, headers, c.peer, c.secure);
    t.same(verdict, c.verdict, 'verdict');
    t.same(headers, { host: 'example.com', ...c.after }, 'headers');
  });
}

t.test('repeated x-forwarded-for lines are read as one list', async (t) => {
  const config = compileDownstreamAddressConfig({ useRemoteAddress: false, xffNumTrustedHops: 1, skipXffAppend: false, internalAddressConfig: undefined }, LOCAL);
  const verdict = mutateDownstreamAddress(config, { 'x-forwarded-for': ['203.0.113.1', '198.51.100.2'] }, '10.1.1.1');
  t.equal(verdict.remoteAddress, '203.0.113.1');
});

t.test('the proxy address for a loopback peer defaults to a non-loopback interface address', async (t) => {
  const local = serverLocalAddress();
  t.not(local, '');
  const config = compileDownstreamAddressConfig({ useRemoteAddress: true, xffNumTrustedHops: 0, skipXffAppend: false, internalAddressConfig: undefined });
  const headers: Record<string, string> = {};
  mutateDownstreamAddress(config, headers, '127.0.0.1');
  t.equal(headers['x-forwarded-for'], local);
});

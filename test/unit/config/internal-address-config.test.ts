// xff_num_trusted_hops and internal_address_config on the HTTP connection manager: carried into
// the model (no "ignored" warning), and bad CIDR ranges rejected at their file and line.
import t, { type Test } from 'tap';
import { ConfigError, loadBootstrap } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager } from '../../../proxy/config/model.ts';

const config = (hcmExtra: string): string => `static_resources:
  listeners:
  - name: http
    address:
      socket_address: { address: 0.0.0.0, port_value: 10000 }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: http
${hcmExtra}
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                direct_response: { status: 200 }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
`;

const HCM = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';

function load(t: Test, text: string) {
  const dir = t.testdir({ 'bootstrap.yaml': text });
  const file = `${dir}/bootstrap.yaml`;
  return { file, load: () => loadBootstrap(file) };
}

function hcmOf(boot: ReturnType<typeof loadBootstrap>): HttpConnectionManager {
  return boot.listeners[0].filterChains[0].network as HttpConnectionManager;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

function lineOf(text: string, needle: string): number {
  const at = text.lastIndexOf(needle);
  if (at < 0) throw new Error(`fixture text lacks ${JSON.stringify(needle)}`);
  return text.slice(0, at).split('\n').length;
}

t.test('defaults: 0 trusted hops, no internal_address_config (nothing internal)', async (t) => {
  const boot = load(t, config('          use_remote_address: true')).load();
  const hcm = hcmOf(boot);
  t.equal(hcm.xffNumTrustedHops, 0);
  t.equal(hcm.internalAddressConfig, undefined);
});

t.test('xff_num_trusted_hops and internal_address_config are carried, without warnings', async (t) => {
  const text = config(`          use_remote_address: true
          xff_num_trusted_hops: 2
          internal_address_config:
            unix_sockets: true
            cidr_ranges:
            - { address_prefix: 10.0.0.0, prefix_len: 8 }
            - { address_prefix: "fd00::", prefix_len: 8 }
            - { address_prefix: 192.0.2.1 }`);
  const boot = load(t, text).load();
  const hcm = hcmOf(boot);
  t.equal(hcm.xffNumTrustedHops, 2);
  t.same(hcm.internalAddressConfig, {
    unixSockets: true,
    cidrRanges: [
      { addressPrefix: '10.0.0.0', prefixLen: 8 },
      { addressPrefix: 'fd00::', prefixLen: 8 },
      { addressPrefix: '192.0.2.1', prefixLen: 0 },
    ],
  });
  t.notOk(boot.warnings.some((w) => /xff_num_trusted_hops|internal_address_config/.test(w)), `no warnings: ${boot.warnings.join('; ')}`);
});

t.test('internal_address_config without cidr_ranges: Envoy falls back to its private set', async (t) => {
  const hcm = hcmOf(load(t, config('          internal_address_config: {}')).load());
  t.same(hcm.internalAddressConfig, { unixSockets: false, cidrRanges: [] });
});

t.test('camelCase (proto3 JSON) names work too', async (t) => {
  const hcm = hcmOf(load(t, config('          xffNumTrustedHops: 1\n          internalAddressConfig: { cidrRanges: [{ addressPrefix: 172.16.0.0, prefixLen: 12 }] }')).load());
  t.equal(hcm.xffNumTrustedHops, 1);
  t.same(hcm.internalAddressConfig?.cidrRanges, [{ addressPrefix: '172.16.0.0', prefixLen: 12 }]);
});

const bad: { name: string; extra: string; line: string; message: RegExp }[] = [
  {
    name: 'an address_prefix that is not an IP',
    extra: '          internal_address_config:\n            cidr_ranges:\n            - { address_prefix: 10.0.0.0, prefix_len: 8 }\n            - { address_prefix: intranet, prefix_len: 8 }',
    line: '- { address_prefix: intranet',
    message: new RegExp(`${HCM.replace(/[.[\]]/g, '\\$&')}\\.internal_address_config\\.cidr_ranges\\[1\\]\\.address_prefix: 'intranet' is not an IP address`),
  },
  {
    name: 'an IPv4 prefix_len over 32',
    extra: '          internal_address_config:\n            cidr_ranges:\n            - { address_prefix: 10.0.0.0, prefix_len: 33 }',
    line: '- { address_prefix: 10.0.0.0, prefix_len: 33 }',
    message: /internal_address_config\.cidr_ranges\[0\]\.prefix_len: prefix length 33 is too long for an IPv4 address \(use 0-32\)/,
  },
  {
    name: 'a prefix_len over 128',
    extra: '          internal_address_config:\n            cidr_ranges:\n            - { address_prefix: "2001:db8::", prefix_len: 129 }',
    line: '- { address_prefix: "2001:db8::", prefix_len: 129 }',
    message: /internal_address_config\.cidr_ranges\[0\]\.prefix_len/,
  },
  {
    name: 'a missing address_prefix',
    extra: '          internal_address_config:\n            cidr_ranges:\n            - { prefix_len: 8 }',
    line: '- { prefix_len: 8 }',
    message: /internal_address_config\.cidr_ranges\[0\]/,
  },
  {
    name: 'a negative xff_num_trusted_hops',
    extra: '          xff_num_trusted_hops: -1',
    line: 'xff_num_trusted_hops: -1',
    message: /xff_num_trusted_hops/,
  },
];

for (const c of bad) {
  t.test(`rejected: ${c.name}`, async (t) => {
    const text = config(c.extra);
    const { file, load: run } = load(t, text);
    const err = errorOf(run);
    t.notMatch(err.message, /\n/, 'one line');
    t.equal(err.file, file);
    t.equal(err.line, lineOf(text, c.line), `points at the offending line: ${err.message}`);
    t.ok(err.message.startsWith(`${file}:${err.line}: `), 'FILE:LINE: prefix');
    t.match(err.message, c.message);
  });
}

// filter_chain_matcher with real sockets: one listener, named chains chosen by the transport
// protocol and SNI the tls_inspector found (TLS terminated with certificates made here) and, for
// plain text, by the source address (127.0.0.1 vs 127.0.0.2, bound by the client) through the IP
// trie; a name with no chain closes the connection. Then a listener pushed over ADS: ACKed, its
// destination port matched once the port is known (an update of the matcher alone, same socket),
// a bad matcher NACKed with its field path, and /config_dump showing the field as written.
import https from 'node:https';
import net from 'node:net';
import t from 'tap';
import type { JsonObject } from '../../../xds-client/index.ts';
import { HCM_TYPE, ROUTER_TYPE, bootstrap, routes, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { fetchJson, statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { adsBootstrap, answerTo, LISTENER_TYPE_URL, startManagementServer } from '../../support/xds-proxy.ts';
import { opensslMissing, selfSignedCert, startNamedServer, tcpProxyFilter, type TestCert } from './support.ts';

const skip = opensslMissing();
if (skip) {
  t.plan(0, skip);
  process.exit(0);
}

const T = 'type.googleapis.com/';
const input = (name: string) => ({ name, typed_config: { '@type': `${T}envoy.extensions.matching.common_inputs.network.v3.${name}` } });
const chain = (name: string) => ({ action: { name, typed_config: { '@type': `${T}google.protobuf.StringValue`, value: name } } });
const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': `${T}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector` } };

const apiCert = selfSignedCert(['api.example.com']);
const otherCert = selfSignedCert(['other.example.com']);

/** A chain terminating TLS with `cert` and answering every request with `body`. */
function tlsChain(name: string, cert: TestCert, body: string) {
  return {
    name,
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': `${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
        common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: cert.cert }, private_key: { inline_string: cert.key } }] },
      },
    },
    filters: [{
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type': HCM_TYPE,
        stat_prefix: name,
        route_config: routes([{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: body } } }]),
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
      },
    }],
  };
}

const tcpChain = (name: string, cluster: string) => ({ name, filters: [tcpProxyFilter(name, cluster)] });

/**
 * Plain TCP from `localAddress`, speaking first (the tls_inspector waits for the client's bytes):
 * what the upstream behind the chosen chain wrote before closing.
 */
function plainFrom(port: number, localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => socket.write('hello\n'));
    const timer = setTimeout(() => socket.destroy(new Error('no close within 5 s')), 5000);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') resolve(text);
      else reject(err);
    });
  });
}

/** An HTTPS GET with this SNI, trusting `ca`: the response body. */
function httpsGet(port: number, servername: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, servername, ca, path: '/', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.once('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.once('error', reject);
  });
}

const one = await startNamedServer('one');
t.teardown(() => one.close());
const two = await startNamedServer('two');
t.teardown(() => two.close());
const clusters = [staticCluster('one', [{ port: one.port }]), staticCluster('two', [{ port: two.port }])];

t.test('chains chosen by transport protocol, SNI and source address on real connections', async (t) => {
  const sourceTrie = {
    matcher_tree: {
      input: input('SourceIPInput'),
      custom_match: {
        name: 'envoy.matching.custom_matchers.ip_range_matcher',
        typed_config: {
          '@type': `${T}xds.type.matcher.v3.IPMatcher`,
          range_matchers: [
            { ranges: [{ address_prefix: '127.0.0.0', prefix_len: 8 }], on_match: chain('plain-one') },
            { ranges: [{ address_prefix: '127.0.0.2', prefix_len: 32 }], on_match: chain('plain-two') },
          ],
        },
      },
    },
  };
  const bySni = {
    matcher_tree: { input: input('ServerNameInput'), exact_match_map: { map: { 'api.example.com': chain('tls-api'), 'ghost.example.com': chain('ghost') } } },
    on_no_match: chain('tls-other'),
  };
  const legate = await startLegate(bootstrap([{
    name: 'matched',
    address: socketAddress('127.0.0.1', 0),
    listener_filters: [TLS_INSPECTOR],
    filter_chains: [tlsChain('tls-api', apiCert, 'api'), tlsChain('tls-other', otherCert, 'other'), tcpChain('plain-one', 'one'), tcpChain('plain-two', 'two')],
    filter_chain_matcher: {
      matcher_tree: { input: input('TransportProtocolInput'), exact_match_map: { map: { tls: { matcher: bySni }, raw_buffer: { matcher: sourceTrie } } } },
    },
  }], clusters));
  t.teardown(() => legate.stop());
  const port = legate.port('matched');

  t.equal(await httpsGet(port, 'api.example.com', apiCert.cert), 'api', 'TLS with SNI api.example.com: its chain and certificate');
  t.equal(await httpsGet(port, 'other.example.com', otherCert.cert), 'other', 'an SNI not in the map: the nested on_no_match');
  t.equal(await plainFrom(port, '127.0.0.1'), 'one', 'plain text from 127.0.0.1: the /8');
  t.equal(await plainFrom(port, '127.0.0.2'), 'two', 'plain text from 127.0.0.2: the longer /32 wins');
  await t.rejects(httpsGet(port, 'ghost.example.com', apiCert.cert), 'a name with no chain: the connection is closed before the handshake');
  // Stats are named by the configured address, as Legate names every listener's.
  const stats = await waitFor('no_filter_chain_match', async () => {
    const s = await statsMap(legate.adminUrl(''));
    return s.get('listener.127.0.0.1_0.no_filter_chain_match') === 1 ? s : undefined;
  });
  t.equal(stats.get('listener.127.0.0.1_0.downstream_cx_total'), 4, 'the four matched connections');
});

t.test('a listener over ADS: ACKed, matched by destination port, a bad matcher NACKed', async (t) => {
  const server = await startManagementServer(t);
  // A resource as the management server sends it (plain JSON).
  const listener = (matcher: object): JsonObject => JSON.parse(JSON.stringify({
    '@type': `${T}envoy.config.listener.v3.Listener`,
    name: 'xds-matched',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [tcpChain('a', 'one'), tcpChain('b', 'two')],
    filter_chain_matcher: matcher,
  })) as JsonObject;
  server.setResources(LISTENER_TYPE_URL, 'l1', [listener({ on_no_match: chain('a') })]);
  // ADS for listeners only: the clusters are static.
  const boot: ReturnType<typeof adsBootstrap> & { dynamic_resources?: object } = adsBootstrap(server.port, { ldsAndCds: false, clusters });
  const legate = await startLegate({
    ...boot,
    dynamic_resources: { ...boot.dynamic_resources, lds_config: { ads: {}, resource_api_version: 'V3', initial_fetch_timeout: '10s' } },
  });
  t.teardown(() => legate.stop());
  t.notOk((await answerTo(server, LISTENER_TYPE_URL)).error_detail, 'l1 ACKed');
  const port = legate.port('xds-matched');
  t.equal(await plainFrom(port, '127.0.0.1'), 'one');

  // Now that the port is known: the same listener (same address, so the same socket) matching it.
  const byPort = { matcher_tree: { input: input('DestinationPortInput'), exact_match_map: { map: { [port]: chain('b') } } }, on_no_match: chain('a') };
  server.setResources(LISTENER_TYPE_URL, 'l2', [listener(byPort)]);
  const ack = await answerTo(server, LISTENER_TYPE_URL);
  t.equal(ack.version_info, 'l2');
  t.notOk(ack.error_detail, 'l2 ACKed');
  t.equal(legate.port('xds-matched'), port, 'the listener kept its socket');
  t.equal(await waitFor('the port matched', async () => ((await plainFrom(port, '127.0.0.1')) === 'two' ? 'two' : undefined)), 'two', 'destination port matched');

  const dump = await fetchJson<{ configs: { '@type': string; dynamic_listeners?: { name: string; active_state?: { listener: Record<string, unknown> } }[] }[] }>(legate.adminUrl('/config_dump'));
  const dynamic = dump.configs.find((c) => c['@type'].endsWith('ListenersConfigDump'))!.dynamic_listeners!;
  t.same(dynamic.find((l) => l.name === 'xds-matched')!.active_state!.listener.filter_chain_matcher, byPort, '/config_dump shows filter_chain_matcher as written');

  const notAnInput = { name: 'trie', typed_config: { '@type': `${T}xds.type.matcher.v3.IPMatcher` } };
  server.setResources(LISTENER_TYPE_URL, 'l3', [listener({ matcher_tree: { input: notAnInput, exact_match_map: { map: { x: chain('b') } } } })]);
  const nack = await answerTo(server, LISTENER_TYPE_URL);
  t.match(nack.error_detail, { message: /filter_chain_matcher\.matcher_tree\.input\.typed_config: not supported by Legate: input 'xds\.type\.matcher\.v3\.IPMatcher'/ }, 'NACK names the field and the input');
  t.equal(await plainFrom(port, '127.0.0.1'), 'two', 'the last good matcher stays');
});

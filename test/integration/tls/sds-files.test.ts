// SDS from files (sds_config.path_config_source with watched_directory): a listener serves the
// certificate from the file; the file replaced by an atomic rename rotates it for new handshakes
// while an established keep-alive connection goes on; a bad secret (key not matching its
// certificate) is rejected with sds.<name>.update_rejected and the last good one kept; a
// listener whose secret file does not exist yet warms (is not bound) and serves once it appears.
import https from 'node:https';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { bootstrap, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { echoHandler, startUpstream } from '../../support/upstream.ts';
import { downstreamTls, httpsGet, hcmToBackend } from './support.ts';

const skip = opensslMissing();
const SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';


// A DiscoveryResponse with one Secret, written elsewhere and renamed over the file.
function writeSecret(file: string, version: string, name: string, cert: string, key: string): void {
  const response = { version_info: version, resources: [{ '@type': SECRET, name, tls_certificate: { certificate_chain: { inline_string: cert }, private_key: { inline_string: key } } }] };
  writeFileSync(`${file}.tmp`, JSON.stringify(response));
  renameSync(`${file}.tmp`, file);
}

// One GET over a keep-alive agent; the socket it went over tells whether the connection was reused.
function keepAliveGet(agent: https.Agent, port: number): Promise<{ status: number; socket: unknown; peerCn: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/keep', agent }, (res) => {
      const peerCn = String((res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN ?? '');
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, socket: req.socket, peerCn }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}

t.test('SDS from files', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const certA = ca.issue('cert-a.test', ['DNS:sds.test']);
  const certB = ca.issue('cert-b.test', ['DNS:sds.test']);
  const upstream = await startUpstream('backend', echoHandler('backend'));
  t.teardown(() => upstream.close());
  const sdsFile = join(ca.dir, 'sds.json');
  const laterFile = join(ca.dir, 'later-sds.json');
  writeSecret(sdsFile, '1', 'server', certA.cert, certA.key);
  const sdsListener = (name: string, file: string) => ({
    name,
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{
      transport_socket: downstreamTls({
        tls_certificate_sds_secret_configs: [{ name: 'server', sds_config: { path_config_source: { path: file, watched_directory: { path: ca.dir } } } }],
      }),
      filters: [hcmToBackend(name)],
    }],
  });
  const logs: string[] = [];
  const legate = await startLegate(bootstrap(
    [sdsListener('rotating', sdsFile), sdsListener('later', laterFile), { name: 'plain', address: socketAddress('127.0.0.1', 0), filter_chains: [{ filters: [hcmToBackend('plain')] }] }],
    [staticCluster('backend', [{ port: upstream.port }])],
  ), { log: (line) => logs.push(line) });
  t.teardown(() => legate.stop());
  const port = legate.port('rotating');
  const get = () => httpsGet(port, '/', { ca: ca.cert, servername: 'sds.test' });
  const stat = async (name: string) => (await statsMap(legate.adminUrl(''))).get(name) ?? 0;

  t.test('the listener serves the file\'s certificate', async (t) => {
    const reply = await get();
    t.equal(reply.status, 200);
    t.equal(reply.peerCn, 'cert-a.test');
    t.equal(await stat('sds.server.update_success'), 1);
  });

  t.test('a rewritten file rotates new handshakes; a keep-alive connection goes on', async (t) => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: ca.cert, servername: 'sds.test', checkServerIdentity: () => undefined });
    t.teardown(() => agent.destroy());
    const first = await keepAliveGet(agent, port);
    t.equal(first.peerCn, 'cert-a.test');
    writeSecret(sdsFile, '2', 'server', certB.cert, certB.key);
    await waitFor('cert B on new handshakes', async () => ((await get()).peerCn === 'cert-b.test' ? true : undefined), 10_000);
    const again = await keepAliveGet(agent, port);
    t.equal(again.status, 200);
    t.equal(again.socket, first.socket, 'the established connection was reused');
    t.equal(again.peerCn, 'cert-a.test', 'it keeps the certificate of its handshake');
    t.equal(await stat('sds.server.update_success'), 2);
    t.ok(!(first.socket as import('node:net').Socket).destroyed, 'the keep-alive connection is still open');
  });

  t.test('a bad secret is rejected and the last good one kept', async (t) => {
    writeSecret(sdsFile, '3', 'server', certA.cert, certB.key);
    await waitFor('update_rejected', async () => ((await stat('sds.server.update_rejected')) >= 1 ? true : undefined), 10_000);
    const reply = await get();
    t.equal(reply.status, 200);
    t.equal(reply.peerCn, 'cert-b.test', 'still the last good certificate');
    t.notOk(logs.some((l) => l.includes('PRIVATE KEY')), 'no key in the log');
    const dump = await (await fetch(legate.adminUrl('/config_dump'))).text();
    t.notOk(dump.includes('PRIVATE KEY'), 'no key in /config_dump');
  });

  t.test('a listener whose secret has not arrived warms, then serves', async (t) => {
    t.throws(() => legate.port('later'), /no listener later/, 'not bound while its secret is missing');
    t.ok(logs.some((l) => l.includes("listener 'later' warms: waiting for secret 'server'")));
    writeSecret(laterFile, '1', 'server', certB.cert, certB.key);
    const laterPort = await waitFor('the later listener', () => {
      try {
        return legate.port('later');
      } catch {
        return undefined;
      }
    }, 10_000);
    const reply = await httpsGet(laterPort, '/', { ca: ca.cert, servername: 'sds.test' });
    t.equal(reply.peerCn, 'cert-b.test');
  });
});

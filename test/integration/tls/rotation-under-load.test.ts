// Certificate rotation under load: a few concurrent HTTPS clients (keep-alive ones, each on one
// connection, and ones that open a new connection per request) run a bounded loop against a TLS
// listener while its certificate is rotated (a) by SDS from a file replaced by an atomic rename and
// (b) by SDS over ADS from the real management server. No request may fail; every new handshake
// started after the rotation was seen must get the new certificate (its serial), and the
// keep-alive connections carry on over the rotation on the certificate of their handshake.
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import t, { type Test } from 'tap';
import { bootstrap, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing, type LeafCert } from '../../support/test-ca.ts';
import { echoHandler, startUpstream } from '../../support/upstream.ts';
import { adsBootstrap, startManagementServer } from '../../support/xds-proxy.ts';
import { downstreamTls, hcmToBackend } from './support.ts';

const skip = opensslMissing();
const SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
const KEEP_ALIVE_CLIENTS = 2;
const NEW_CONNECTION_CLIENTS = 2;
const MAX_REQUESTS_PER_CLIENT = 1500;
const MAX_LOAD_MS = 30_000;

function secret(cert: LeafCert) {
  return { '@type': SECRET, name: 'server', tls_certificate: { certificate_chain: { inline_string: cert.cert }, private_key: { inline_string: cert.key } } };
}

function listener(sdsConfig: object) {
  return {
    name: 'secure',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{
      transport_socket: downstreamTls({ tls_certificate_sds_secret_configs: [{ name: 'server', sds_config: sdsConfig }] }),
      filters: [hcmToBackend('secure')],
    }],
  };
}

const serialOf = (cert: LeafCert) => new X509Certificate(cert.cert).serialNumber;

interface Outcome {
  client: number;
  keepAlive: boolean;
  startedAt: number;
  status?: number;
  serial?: string;
  socket?: number; // the keep-alive client's connection, numbered in order of first use
  error?: string;
}

/** One GET; resolves (never rejects) with what happened. */
function get(port: number, ca: string, agent: https.Agent | false, sockets: Map<unknown, number>): Promise<Omit<Outcome, 'client' | 'keepAlive' | 'startedAt'>> {
  return new Promise((resolve) => {
    // A keep-alive agent carries the TLS options itself (as options of each request they would
    // keep node from reusing its connection).
    const tls = agent === false ? { ca, servername: 'sds.test', checkServerIdentity: () => undefined } : {};
    const req = https.request({ host: '127.0.0.1', port, path: '/load', agent, timeout: 5000, ...tls }, (res) => {
      const socket = res.socket as TLSSocket;
      const serial = socket.getPeerCertificate().serialNumber;
      if (!sockets.has(socket)) sockets.set(socket, sockets.size);
      const id = sockets.get(socket);
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode, serial, socket: id }));
      res.once('error', (err) => resolve({ error: err.message }));
    });
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', (err) => resolve({ error: err.message }));
    req.end();
  });
}

interface Load {
  outcomes: Outcome[];
  /** Resolves once check(outcomes) holds or the load has ended. */
  until(check: (outcomes: Outcome[]) => boolean): Promise<void>;
  stop(): Promise<Outcome[]>;
}

/** The clients' loops, bounded by MAX_REQUESTS_PER_CLIENT each and MAX_LOAD_MS, until stop(). */
function startLoad(port: number, ca: string): Load {
  const outcomes: Outcome[] = [];
  const deadline = Date.now() + MAX_LOAD_MS;
  let stopped = false;
  const waiters: { check(o: Outcome[]): boolean; resolve(): void }[] = [];
  const settle = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (stopped || waiters[i].check(outcomes)) waiters.splice(i, 1)[0].resolve();
    }
  };
  const loop = async (client: number, keepAlive: boolean) => {
    const agent = keepAlive ? new https.Agent({ keepAlive: true, maxSockets: 1, ca, servername: 'sds.test', checkServerIdentity: () => undefined }) : false;
    const sockets = new Map<unknown, number>();
    try {
      for (let i = 0; i < MAX_REQUESTS_PER_CLIENT && !stopped && Date.now() < deadline; i++) {
        const startedAt = Date.now();
        outcomes.push({ client, keepAlive, startedAt, ...(await get(port, ca, agent, sockets)) });
        settle();
      }
    } finally {
      if (agent) agent.destroy();
    }
  };
  const clients = [
    ...Array.from({ length: KEEP_ALIVE_CLIENTS }, (_, i) => loop(i, true)),
    ...Array.from({ length: NEW_CONNECTION_CLIENTS }, (_, i) => loop(KEEP_ALIVE_CLIENTS + i, false)),
  ];
  const done = Promise.all(clients).then(() => {
    stopped = true;
    settle();
    return outcomes;
  });
  return {
    outcomes,
    until: (check) => (stopped || check(outcomes) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ check, resolve }))),
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

/**
 * Runs the load, rotates from certificate A to B with rotate(), and checks the outcome: load
 * before and after, no failure, new handshakes after the rotation on B, keep-alive ones unbroken.
 */
async function rotateUnderLoad(t: Test, port: number, ca: string, certA: LeafCert, certB: LeafCert, rotate: () => void): Promise<void> {
  const [serialA, serialB] = [serialOf(certA), serialOf(certB)];
  const load = startLoad(port, ca);
  t.teardown(() => load.stop());
  await load.until((o) => o.length >= 60);
  rotate();
  // A probe on a fresh connection until B is served: the rotation is in.
  await waitFor('certificate B on a new handshake', async () => {
    const probe = await get(port, ca, false, new Map());
    return probe.serial === serialB ? true : undefined;
  }, 10_000);
  const rotatedAt = Date.now();
  const after = (o: Outcome[]) => o.filter((x) => x.startedAt > rotatedAt);
  await load.until((o) => after(o).filter((x) => !x.keepAlive).length >= 40 && after(o).filter((x) => x.keepAlive).length >= 40);
  const outcomes = await load.stop();

  const failed = outcomes.filter((o) => o.error !== undefined || o.status !== 200);
  t.equal(failed.length, 0, `no request of ${outcomes.length} failed${failed.length > 0 ? `: ${JSON.stringify(failed.slice(0, 5))}` : ''}`);
  t.ok(outcomes.filter((o) => o.startedAt < rotatedAt && o.serial === serialA).length >= 60, 'the load ran on certificate A before the rotation');
  const newAfter = after(outcomes).filter((o) => !o.keepAlive);
  t.ok(newAfter.length >= 40, `${newAfter.length} new connections after the rotation`);
  t.strictSame([...new Set(newAfter.map((o) => o.serial))], [serialB], 'every new handshake after the rotation got certificate B');
  for (let client = 0; client < KEEP_ALIVE_CLIENTS; client++) {
    const mine = outcomes.filter((o) => o.client === client);
    t.strictSame([...new Set(mine.map((o) => o.socket))], [0], `keep-alive client ${client}: one connection for all its ${mine.length} requests`);
    t.strictSame([...new Set(mine.map((o) => o.serial))], [serialA], `keep-alive client ${client}: on certificate A throughout`);
  }
}

t.test('rotation under load: SDS from a file (atomic rename)', { skip, timeout: 90_000 }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const certA = ca.issue('load-a.test', ['DNS:sds.test']);
  const certB = ca.issue('load-b.test', ['DNS:sds.test']);
  const upstream = await startUpstream('backend', echoHandler('backend'));
  t.teardown(() => upstream.close());
  const file = join(ca.dir, 'sds.json');
  const write = (version: string, cert: LeafCert) => {
    writeFileSync(`${file}.tmp`, JSON.stringify({ version_info: version, resources: [secret(cert)] }));
    renameSync(`${file}.tmp`, file);
  };
  write('1', certA);
  const legate = await startLegate(bootstrap(
    [listener({ path_config_source: { path: file, watched_directory: { path: ca.dir } } })],
    [staticCluster('backend', [{ port: upstream.port }])],
  ));
  t.teardown(() => legate.stop());
  await rotateUnderLoad(t, legate.port('secure'), ca.cert, certA, certB, () => write('2', certB));
  t.equal((await statsMap(legate.adminUrl(''))).get('sds.server.update_success'), 2, 'two versions of the secret loaded');
});

t.test('rotation under load: SDS over ADS', { skip, timeout: 90_000 }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const certA = ca.issue('load-a.test', ['DNS:sds.test']);
  const certB = ca.issue('load-b.test', ['DNS:sds.test']);
  const upstream = await startUpstream('backend', echoHandler('backend'));
  t.teardown(() => upstream.close());
  const server = await startManagementServer(t);
  server.setResources(SECRET, 's1', [secret(certA)]);
  const legate = await startLegate(adsBootstrap(server.port, {
    ldsAndCds: false,
    listeners: [listener({ ads: {}, resource_api_version: 'V3' })],
    clusters: [staticCluster('backend', [{ port: upstream.port }])],
  }));
  t.teardown(() => legate.stop());
  const port = await waitFor('the listener bound', () => {
    try {
      return legate.port('secure');
    } catch {
      return undefined;
    }
  }, 10_000);
  await rotateUnderLoad(t, port, ca.cert, certA, certB, () => server.setResources(SECRET, 's2', [secret(certB)]));
  t.equal((await statsMap(legate.adminUrl(''))).get('sds.server.update_success'), 2, 'two versions of the secret loaded');
});

// Stats sinks with real parts: UDP sockets in the test receive what a running Legate sends to
// envoy.stat_sinks.statsd and envoy.stat_sinks.dog_statsd. Two worker processes serve, so the
// counters arrive merged by the primary (deltas per flush), and the timers from the workers as
// they are recorded.
import t, { type Test } from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { spawnLegate } from '../../support/legate-process.ts';
import { startUpstreamFor } from '../../support/upstream.ts';

/** A statsd collector: every datagram and every line it received. */
interface Collector {
  port: number;
  datagrams: string[];
  lines: string[];
  /** Resolves once check(lines) holds, checking on every datagram; rejects after timeoutMs. */
  until(what: string, check: (lines: string[]) => boolean, timeoutMs?: number): Promise<void>;
}

async function collector(t: Test): Promise<Collector> {
  const socket: Socket = createSocket('udp4');
  const events = new EventEmitter();
  const datagrams: string[] = [];
  const lines: string[] = [];
  socket.on('message', (msg) => {
    const text = msg.toString('utf8');
    datagrams.push(text);
    lines.push(...text.split('\n'));
    events.emit('datagram');
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  t.teardown(() => socket.close());
  return {
    port: (socket.address() as AddressInfo).port,
    datagrams,
    lines,
    until: (what, check, timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        if (check(lines)) return resolve();
        const timer = setTimeout(() => {
          events.off('datagram', onDatagram);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got:\n${lines.slice(-40).join('\n')}`));
        }, timeoutMs);
        const onDatagram = () => {
          if (!check(lines)) return;
          clearTimeout(timer);
          events.off('datagram', onDatagram);
          resolve();
        };
        events.on('datagram', onDatagram);
      }),
  };
}

/** The sum of the values of the lines that are `name:<n>|c` + suffix exactly. */
function counterSum(lines: string[], name: string, suffix = ''): number {
  let sum = 0;
  for (const line of lines) {
    if (!line.startsWith(name + ':') || !line.endsWith('|c' + suffix)) continue;
    const value = line.slice(name.length + 1, line.length - 2 - suffix.length);
    if (/^\d+$/.test(value)) sum += Number(value);
  }
  return sum;
}

function matching(lines: string[], pattern: RegExp): string[] {
  return lines.filter((l) => pattern.test(l));
}

const STATSD = 'type.googleapis.com/envoy.config.metrics.v3.StatsdSink';
const DOG_STATSD = 'type.googleapis.com/envoy.config.metrics.v3.DogStatsdSink';
const udp = (port: number) => ({ socket_address: { protocol: 'UDP', address: '127.0.0.1', port_value: port } });
const route = routes([{ match: { prefix: '/' }, route: { cluster: 'backend' } }]);

t.test('statsd and dog_statsd receive merged counter deltas, gauges and timers from two workers', async (t) => {
  const upstream = await startUpstreamFor(t, 'backend');
  const plain = await collector(t);
  const dog = await collector(t);
  const legate = await spawnLegate(
    bootstrap([httpListener('ingress_http', route)], [staticCluster('backend', [{ port: upstream.port }])], {
      stats_flush_interval: '0.2s',
      stats_sinks: [
        { name: 'envoy.stat_sinks.statsd', typed_config: { '@type': STATSD, address: udp(plain.port) } },
        { name: 'envoy.stat_sinks.dog_statsd', typed_config: { '@type': DOG_STATSD, address: udp(dog.port), prefix: 'legate', max_bytes_per_datagram: 1400 } },
      ],
      // stats_matcher: an excluded stat is never created in Envoy, so never sent.
      stats_config: { stats_matcher: { exclusion_list: { patterns: [{ exact: 'cluster.backend.upstream_cx_total' }, { suffix: 'downstream_rq_time' }] } } },
    }),
    ['--workers', '2'],
  );
  t.teardown(() => legate.stop());

  const requests = 6;
  for (let i = 0; i < requests; i++) {
    const reply = await fetchText(legate.url(`/r${i}`));
    t.equal(reply.status, 200);
  }

  // Counters: the deltas of all flushes add up to the requests, whichever worker served them.
  await plain.until(`envoy.cluster.backend.upstream_rq_total deltas adding up to ${requests}`, (lines) => counterSum(lines, 'envoy.cluster.backend.upstream_rq_total') === requests);
  await plain.until('a second flush', (lines) => matching(lines, /^envoy\.cluster\.backend\.upstream_rq_total:\d+\|c$/).length >= 2);
  t.equal(counterSum(plain.lines, 'envoy.cluster.backend.upstream_rq_total'), requests, 'later flushes send a delta of 0, not the total again');
  await plain.until('a gauge, as it stands', (lines) => lines.includes('envoy.server.concurrency:2|g'));
  // Timers: one line per recorded value, sent by the worker that recorded it.
  await plain.until(`${requests} upstream_rq_time timers`, (lines) => matching(lines, /^envoy\.cluster\.backend\.upstream_rq_time:\d+\|ms$/).length === requests);
  t.same(matching(plain.lines, /^envoy\.cluster\.backend\.upstream_cx_total:/), [], 'an excluded counter is never sent');
  t.same(matching(plain.lines, /downstream_rq_time:/), [], 'an excluded histogram is never sent');
  t.ok(plain.datagrams.every((d) => !d.includes('\n')), 'statsd: one line per datagram');

  // dog_statsd: the prefix, tag-extracted names and Envoy's default tags in DogStatsD form.
  await dog.until('tagged upstream_rq_total deltas', (lines) => counterSum(lines, 'legate.cluster.upstream_rq_total', '|#envoy.cluster_name:backend') === requests);
  await dog.until('tagged timers', (lines) => matching(lines, /^legate\.cluster\.upstream_rq_time:\d+\|ms\|#envoy\.cluster_name:backend$/).length === requests);
  await dog.until('the connection manager prefix as a tag', (lines) => lines.some((l) => /^legate\.http\.downstream_rq_total:\d+\|c\|#envoy\.http_conn_manager_prefix:ingress_http$/.test(l)));
  t.ok(dog.datagrams.some((d) => d.includes('\n')), 'max_bytes_per_datagram packs lines');
  t.ok(dog.datagrams.every((d) => Buffer.byteLength(d) <= 1400), 'no datagram above max_bytes_per_datagram');
});

t.test('stats_flush_on_admin flushes when /stats is read; Istio-style stats_tags name the tags', async (t) => {
  const upstream = await startUpstreamFor(t, 'backend');
  const dog = await collector(t);
  const legate = await startLegate(
    bootstrap([httpListener('ingress_http', route)], [staticCluster('backend', [{ port: upstream.port }])], {
      stats_flush_on_admin: true,
      stats_sinks: [{ name: 'envoy.stat_sinks.dog_statsd', typed_config: { '@type': DOG_STATSD, address: udp(dog.port) } }],
      // As Istio's bootstrap: only its own tags.
      stats_config: { use_all_default_tags: false, stats_tags: [{ tag_name: 'cluster_name', regex: '^cluster\\.((.+?)\\.)' }] },
    }),
  );
  t.teardown(() => legate.stop());

  t.equal((await fetchText(legate.url('/'))).status, 200);
  await dog.until('the timer, sent as recorded', (lines) => lines.some((l) => /^envoy\.cluster\.upstream_rq_time:\d+\|ms\|#cluster_name:backend$/.test(l)));
  t.equal(counterSum(dog.lines, 'envoy.cluster.upstream_rq_total', '|#cluster_name:backend'), 0, 'no counter before /stats is read');
  t.equal((await fetchText(legate.adminUrl('/stats'))).status, 200);
  await dog.until('the counter flushed by the /stats read', (lines) => counterSum(lines, 'envoy.cluster.upstream_rq_total', '|#cluster_name:backend') === 1);
  // A stat no stats_tags entry matches keeps its whole name and has no tags.
  await dog.until('the untagged downstream_rq_total', (lines) => lines.includes('envoy.http.ingress_http.downstream_rq_total:1|c'));
});

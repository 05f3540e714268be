// Real capture in real network namespaces: "app" is the sidecar's namespace, "peer" another host
// on a veth pair. Servers in app stand in for the proxy's listeners and the app.
import t from 'tap';
import { captureOptions, type CaptureOptions } from '../../iptables/options.ts';
import { buildRules, legateChains } from '../../iptables/rules.ts';
import { createNetns, linkNetns, netnsSkipReason, type Netns } from '../support/netns.ts';

const cli = new URL('../../iptables/cli.ts', import.meta.url).pathname;
const peerScript = new URL('../support/netns-peer.ts', import.meta.url).pathname;
const proxyUid = 1337;
const unusedPort = 9; // nothing listens on it anywhere: only a redirect can answer

async function serve(ns: Netns, host: string, label: string): Promise<number> {
  const { line } = await ns.start(peerScript, ['server', host, label]);
  return (JSON.parse(line) as { port: number }).port;
}

/** Who answered a connection from ns to host:port (optionally made as another user). */
async function dial(ns: Netns, host: string, port: number, uid?: number): Promise<string> {
  const asUser = uid === undefined ? [] : ['--uid', String(uid)];
  const answer = await ns.node(peerScript, ['client', host, String(port), ...asUser]);
  return (JSON.parse(answer) as { label: string }).label;
}

/** The `-A` rules of the chains Legate touches, chain by chain, as iptables-save prints them. */
function rulesByChain(text: string): Record<string, string[]> {
  const chains: Record<string, string[]> = {};
  for (const chain of ['PREROUTING', 'OUTPUT', ...legateChains]) {
    chains[chain] = text.split('\n').filter((line) => line.startsWith(`-A ${chain} `));
  }
  return chains;
}

async function saved(ns: Netns, family: 4 | 6): Promise<string> {
  return ns.exec(family === 4 ? 'iptables-save' : 'ip6tables-save', ['-t', 'nat']);
}

const skip = netnsSkipReason(['iptables-restore', 'ip6tables-restore', 'iptables-save', 'ip6tables-save']);

t.test('legate iptables apply/clean capture and release traffic in a namespace', { skip }, async (t) => {
  const app = await createNetns(t);
  const peer = await createNetns(t);
  await linkNetns(
    { ns: app, addresses: ['10.233.0.1/30', 'fd00:1e9a::1/64'] },
    { ns: peer, addresses: ['10.233.0.2/30', 'fd00:1e9a::2/64'] },
  );
  const [outbound, inbound, admin, local, remote] = await Promise.all([
    serve(app, '::', 'outbound'),
    serve(app, '::', 'inbound'),
    serve(app, '::', 'admin'),
    serve(app, '127.0.0.1', 'app'),
    serve(peer, '::', 'peer'),
  ]);
  const flags = ['--proxy-uid', String(proxyUid), '--inbound-port', String(inbound), '--outbound-port', String(outbound), '--admin-port', String(admin)];
  const options: Partial<CaptureOptions> = { proxyUid, inboundPort: inbound, outboundPort: outbound, adminPort: admin };

  t.equal(await dial(app, '10.233.0.2', remote), 'peer', 'before apply, the peer answers');

  await app.node(cli, ['iptables', 'apply', ...flags]);
  for (const family of [4, 6] as const) {
    t.strictSame(rulesByChain(await saved(app, family)), rulesByChain(buildRules(captureOptions(options), family)), `IPv${family} rules installed as built`);
  }

  t.equal(await dial(app, '10.233.0.2', remote), 'outbound', 'app -> peer (IPv4) is redirected to the outbound port');
  t.equal(await dial(app, 'fd00:1e9a::2', remote), 'outbound', 'app -> peer (IPv6) is redirected to the outbound port');
  t.equal(await dial(app, '10.233.0.2', remote, proxyUid), 'peer', "the proxy's own user is never captured");
  t.equal(await dial(app, '127.0.0.1', local), 'app', 'app -> 127.0.0.1 is not captured');
  t.equal(await dial(app, '10.233.0.1', admin), 'admin', "app -> its own address goes through lo and is not captured");
  t.equal(await dial(app, '10.233.0.1', admin, proxyUid), 'inbound', "proxy -> the app's address is inbound traffic");
  t.equal(await dial(peer, '10.233.0.1', unusedPort), 'inbound', 'peer -> app (IPv4) is redirected to the inbound port');
  t.equal(await dial(peer, 'fd00:1e9a::1', unusedPort), 'inbound', 'peer -> app (IPv6) is redirected to the inbound port');
  t.equal(await dial(peer, '10.233.0.1', admin), 'admin', "the admin port is reached as itself");

  // Applying again replaces the rules, in one transaction, rather than adding to them.
  await app.node(cli, ['iptables', 'apply', ...flags, '--exclude-outbound-cidrs', '10.233.0.2/32']);
  for (const family of [4, 6] as const) {
    const expected = buildRules(captureOptions({ ...options, excludeOutboundCidrs: ['10.233.0.2/32'] }), family);
    t.strictSame(rulesByChain(await saved(app, family)), rulesByChain(expected), `IPv${family} rules replaced, jumps not doubled`);
  }
  t.equal(await dial(app, '10.233.0.2', remote), 'peer', 'an excluded CIDR is not captured');
  t.equal(await dial(app, 'fd00:1e9a::2', remote), 'outbound', 'IPv6 is still captured');

  await app.node(cli, ['iptables', 'clean']);
  for (const family of [4, 6] as const) t.notMatch(await saved(app, family), /LEGATE/, `no IPv${family} LEGATE rule or chain left`);
  t.equal(await dial(app, 'fd00:1e9a::2', remote), 'peer', 'after clean, the peer answers again');
  t.equal(await dial(peer, '10.233.0.1', admin), 'admin', 'after clean, inbound is not redirected');
  await app.node(cli, ['iptables', 'clean']);
  t.pass('clean is idempotent');
});

t.test('apply --no-ipv6 leaves ip6tables alone', { skip }, async (t) => {
  const app = await createNetns(t);
  await app.node(cli, ['iptables', 'apply', '--no-ipv6']);
  t.match(await saved(app, 4), /-A OUTPUT -p tcp -j LEGATE_OUTPUT/);
  t.notMatch(await saved(app, 6), /LEGATE/);
  await app.node(cli, ['iptables', 'clean', '--no-ipv6']);
  t.notMatch(await saved(app, 4), /LEGATE/);
});

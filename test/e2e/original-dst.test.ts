// SO_ORIGINAL_DST through the addon: a server standing in for the outbound listener reads where
// each redirected connection was really going.
import t from 'tap';
import { originalDstAvailable } from '../../proxy/listener/original-dst/index.ts';
import { createNetns, linkNetns, netnsSkipReason, type Netns } from '../support/netns.ts';

const cli = new URL('../../iptables/cli.ts', import.meta.url).pathname;
const peerScript = new URL('../support/netns-peer.ts', import.meta.url).pathname;
const dialledPort = 4321; // nothing listens on it: only the redirect can answer

interface Answer {
  label: string;
  originalDst: { address: string; port: number; family: number } | null;
}

async function serve(ns: Netns, host: string): Promise<number> {
  const { line } = await ns.start(peerScript, ['server', host, 'listener', '--original-dst']);
  return (JSON.parse(line) as { port: number }).port;
}

async function dial(ns: Netns, host: string, port: number): Promise<Answer> {
  return JSON.parse(await ns.node(peerScript, ['client', host, String(port)])) as Answer;
}

function captureTo(ns: Netns, port: number): Promise<string> {
  // Outbound only: inbound capture is not what this test is about.
  return ns.node(cli, ['iptables', 'apply', '--outbound-port', String(port), '--inbound-port', String(port), '--include-inbound-ports', '']);
}

const available = originalDstAvailable();
const skip =
  netnsSkipReason(['iptables-restore', 'ip6tables-restore', 'iptables-save', 'ip6tables-save']) ||
  (available.ok ? false : `original_dst unavailable: ${available.reason}`);

t.test('a redirected connection reports the address:port the client dialled', { skip }, async (t) => {
  const app = await createNetns(t);
  const peer = await createNetns(t);
  await linkNetns(
    { ns: app, addresses: ['10.233.0.1/30', 'fd00:1e9a::1/64'] },
    { ns: peer, addresses: ['10.233.0.2/30', 'fd00:1e9a::2/64'] },
  );

  const dualStack = await serve(app, '::');
  await captureTo(app, dualStack);
  t.strictSame(
    await dial(app, '10.233.0.2', dialledPort),
    { label: 'listener', originalDst: { address: '10.233.0.2', port: dialledPort, family: 4 } },
    'IPv4 on a dual-stack socket (v4-mapped)',
  );
  t.strictSame(
    await dial(app, 'fd00:1e9a::2', dialledPort),
    { label: 'listener', originalDst: { address: 'fd00:1e9a::2', port: dialledPort, family: 6 } },
    'IPv6',
  );

  const local = await dial(app, '127.0.0.1', dualStack);
  if (local.originalDst === null) t.pass('a connection that was not redirected: no conntrack entry');
  else t.strictSame(local.originalDst, { address: '127.0.0.1', port: dualStack, family: 4 }, 'not redirected: its own destination');

  const ipv4Only = await serve(app, '0.0.0.0');
  await captureTo(app, ipv4Only);
  t.strictSame(
    await dial(app, '10.233.0.2', dialledPort + 1),
    { label: 'listener', originalDst: { address: '10.233.0.2', port: dialledPort + 1, family: 4 } },
    'IPv4 on an IPv4 socket',
  );
});

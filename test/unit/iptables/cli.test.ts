import { spawn, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { captureOptions } from '../../../iptables/options.ts';
import { buildRules } from '../../../iptables/rules.ts';

const cli = new URL('../../../iptables/cli.ts', import.meta.url).pathname;

function legate(args: string[], options: SpawnOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'iptables', ...args], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('print writes both families, built from the flags', async (t) => {
  const flags = [
    '--proxy-uid', '101',
    '--inbound-port', '16006',
    '--outbound-port', '16001',
    '--admin-port', '9901',
    '--include-inbound-ports', '80, 443',
    '--exclude-inbound-ports', '443',
    '--include-outbound-cidrs', '10.0.0.0/8,fd00::/8',
    '--exclude-outbound-cidrs', '10.96.0.0/12',
    '--exclude-outbound-ports', '22,23',
  ];
  const { code, stdout, stderr } = await legate(['print', ...flags]);
  t.equal(code, 0, stderr);
  const options = captureOptions({
    proxyUid: 101,
    proxyGid: 101,
    inboundPort: 16006,
    outboundPort: 16001,
    adminPort: 9901,
    includeInboundPorts: [80, 443],
    excludeInboundPorts: [443],
    includeOutboundCidrs: ['10.0.0.0/8', 'fd00::/8'],
    excludeOutboundCidrs: ['10.96.0.0/12'],
    excludeOutboundPorts: [22, 23],
  });
  t.equal(
    stdout,
    `# iptables-restore --noflush\n${buildRules(options, 4)}# ip6tables-restore --noflush\n${buildRules(options, 6)}`,
  );
});

t.test('print --no-ipv6 writes IPv4 only; --proxy-gid is its own', async (t) => {
  const { code, stdout } = await legate(['print', '--no-ipv6', '--proxy-uid', '5', '--proxy-gid', '6']);
  t.equal(code, 0);
  t.equal(stdout, `# iptables-restore --noflush\n${buildRules(captureOptions({ proxyUid: 5, proxyGid: 6 }), 4)}`);
});

t.test('a bad flag is one line naming the flag, exit 1', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--inbound-port', '70000'], /'--inbound-port <port>' argument '70000' is invalid\. Not a port/],
    [['--exclude-outbound-ports', '22,x'], /'--exclude-outbound-ports <ports>' argument '22,x' is invalid/],
    [['--include-outbound-cidrs', '10.0.0.0/40'], /'10\.0\.0\.0\/40' has an invalid prefix length/],
    [['--proxy-uid', 'istio'], /'--proxy-uid <uid>' argument 'istio' is invalid/],
    [['--proxy-uid', '4294967295'], /^legate iptables: proxyUid: 4294967295 is not a user or group id/],
  ];
  for (const [flags, message] of cases) {
    const { code, stdout, stderr } = await legate(['print', ...flags]);
    t.equal(code, 1, flags.join(' '));
    t.equal(stdout, '');
    t.match(stderr, message);
    t.equal(stderr.trim().split('\n').length, 1, 'one line');
  }
});

t.test('a missing iptables binary is named plainly', async (t) => {
  const emptyPath = mkdtempSync(join(tmpdir(), 'legate-no-iptables-'));
  t.teardown(() => rmSync(emptyPath, { recursive: true, force: true }));
  for (const command of ['apply', 'clean']) {
    const { code, stderr } = await legate([command], { env: { ...process.env, PATH: emptyPath } });
    t.equal(code, 1);
    t.equal(stderr, `legate iptables ${command}: iptables-save not found: install the iptables package (apt-get install iptables)\n`);
  }
});

t.test('without root, apply says it needs root', { skip: process.getuid?.() === 0 ? false : 'needs root to start a child as another user' }, async (t) => {
  const { code, stderr } = await legate(['apply'], { uid: 65534, gid: 65534 });
  t.equal(code, 1);
  t.match(stderr, /^legate iptables apply: iptables-save (needs root \(CAP_NET_ADMIN\)|not found)/);
});

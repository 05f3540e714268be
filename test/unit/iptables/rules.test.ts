import t from 'tap';
import { captureOptions, CaptureOptionsError, type CaptureOptions } from '../../../iptables/options.ts';
import { buildRules } from '../../../iptables/rules.ts';

const header = [
  '*nat',
  ':LEGATE_INBOUND - [0:0]',
  ':LEGATE_IN_REDIRECT - [0:0]',
  ':LEGATE_OUTPUT - [0:0]',
  ':LEGATE_REDIRECT - [0:0]',
];

function lines(partial: Partial<CaptureOptions>, family: 4 | 6, replacing?: string[]): string[] {
  const text = buildRules(captureOptions(partial), family, replacing);
  if (!text.endsWith('\nCOMMIT\n')) throw new Error(`no final COMMIT line in ${JSON.stringify(text)}`);
  return text.split('\n').slice(0, -1);
}

t.test('defaults, IPv4: everything captured except the proxy, its ports and loopback', async (t) => {
  t.strictSame(lines({}, 4), [
    ...header,
    '-A LEGATE_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
    '-A LEGATE_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
    '-A PREROUTING -p tcp -j LEGATE_INBOUND',
    '-A LEGATE_INBOUND -p tcp -m tcp --dport 15006 -j RETURN',
    '-A LEGATE_INBOUND -p tcp -m tcp --dport 15001 -j RETURN',
    '-A LEGATE_INBOUND -p tcp -m tcp --dport 15000 -j RETURN',
    '-A LEGATE_INBOUND -p tcp -j LEGATE_IN_REDIRECT',
    '-A OUTPUT -p tcp -j LEGATE_OUTPUT',
    '-A LEGATE_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN',
    '-A LEGATE_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --uid-owner 1337 -j LEGATE_IN_REDIRECT',
    '-A LEGATE_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN',
    '-A LEGATE_OUTPUT -m owner --uid-owner 1337 -j RETURN',
    '-A LEGATE_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --gid-owner 1337 -j LEGATE_IN_REDIRECT',
    '-A LEGATE_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN',
    '-A LEGATE_OUTPUT -m owner --gid-owner 1337 -j RETURN',
    '-A LEGATE_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-A LEGATE_OUTPUT -j LEGATE_REDIRECT',
    'COMMIT',
  ]);
});

t.test('defaults, IPv6: ::1 is loopback and ::6 the passthrough source', async (t) => {
  const v6 = lines({}, 6);
  t.strictSame(
    v6.filter((line) => /127\.|::/.test(line)),
    [
      '-A LEGATE_OUTPUT -s ::6/128 -o lo -j RETURN',
      '-A LEGATE_OUTPUT ! -d ::1/128 -o lo -m owner --uid-owner 1337 -j LEGATE_IN_REDIRECT',
      '-A LEGATE_OUTPUT ! -d ::1/128 -o lo -m owner --gid-owner 1337 -j LEGATE_IN_REDIRECT',
      '-A LEGATE_OUTPUT -d ::1/128 -j RETURN',
    ],
  );
  t.equal(v6.length, lines({}, 4).length, 'same shape as IPv4');
});

t.test('include lists, excludes and own ids', async (t) => {
  const options: Partial<CaptureOptions> = {
    proxyUid: 101,
    proxyGid: 202,
    inboundPort: 16006,
    outboundPort: 16001,
    adminPort: 9901,
    includeInboundPorts: [80, 443, 8080, 9901, 16006],
    excludeInboundPorts: [8080],
    includeOutboundCidrs: ['10.0.0.0/8', 'fd00::/8', '192.168.1.7'],
    excludeOutboundCidrs: ['10.96.0.0/12', 'fd00:1::/32'],
    excludeOutboundPorts: [22, 5432],
  };
  t.strictSame(lines(options, 4), [
    ...header,
    '-A LEGATE_IN_REDIRECT -p tcp -j REDIRECT --to-ports 16006',
    '-A LEGATE_REDIRECT -p tcp -j REDIRECT --to-ports 16001',
    '-A PREROUTING -p tcp -j LEGATE_INBOUND',
    '-A LEGATE_INBOUND -p tcp -m tcp --dport 80 -j LEGATE_IN_REDIRECT',
    '-A LEGATE_INBOUND -p tcp -m tcp --dport 443 -j LEGATE_IN_REDIRECT',
    '-A OUTPUT -p tcp -j LEGATE_OUTPUT',
    '-A LEGATE_OUTPUT -p tcp -m tcp --dport 22 -j RETURN',
    '-A LEGATE_OUTPUT -p tcp -m tcp --dport 5432 -j RETURN',
    '-A LEGATE_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN',
    '-A LEGATE_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --uid-owner 101 -j LEGATE_IN_REDIRECT',
    '-A LEGATE_OUTPUT -o lo -m owner ! --uid-owner 101 -j RETURN',
    '-A LEGATE_OUTPUT -m owner --uid-owner 101 -j RETURN',
    '-A LEGATE_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --gid-owner 202 -j LEGATE_IN_REDIRECT',
    '-A LEGATE_OUTPUT -o lo -m owner ! --gid-owner 202 -j RETURN',
    '-A LEGATE_OUTPUT -m owner --gid-owner 202 -j RETURN',
    '-A LEGATE_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-A LEGATE_OUTPUT -d 10.96.0.0/12 -j RETURN',
    '-A LEGATE_OUTPUT -d 10.0.0.0/8 -j LEGATE_REDIRECT',
    '-A LEGATE_OUTPUT -d 192.168.1.7/32 -j LEGATE_REDIRECT',
    'COMMIT',
  ]);
  const v6 = lines(options, 6);
  t.strictSame(
    v6.filter((line) => / -d (?!::1\/)/.test(line) && !line.includes('! -d')),
    ['-A LEGATE_OUTPUT -d fd00:1::/32 -j RETURN', '-A LEGATE_OUTPUT -d fd00::/8 -j LEGATE_REDIRECT'],
    'IPv6 gets only the IPv6 CIDRs',
  );
});

t.test('no inbound port left to capture: no PREROUTING jump and no loopback redirect', async (t) => {
  for (const includeInboundPorts of [[], [15000]]) {
    const v4 = lines({ includeInboundPorts }, 4);
    t.notOk(v4.some((line) => line.includes('LEGATE_INBOUND') && !line.startsWith(':')), 'no inbound rules');
    t.notOk(v4.some((line) => line.endsWith('-j LEGATE_IN_REDIRECT')), 'nothing jumps to LEGATE_IN_REDIRECT');
    t.ok(v4.includes('-A LEGATE_OUTPUT -m owner --uid-owner 1337 -j RETURN'), 'outbound still captured');
  }
});

t.test('no outbound CIDR of a family: that family redirects nothing outbound', async (t) => {
  const v6 = lines({ includeOutboundCidrs: ['10.0.0.0/8'] }, 6);
  t.notOk(v6.some((line) => line.endsWith('-j LEGATE_REDIRECT')));
  t.ok(lines({ includeOutboundCidrs: [] }, 4).every((line) => !line.endsWith('-j LEGATE_REDIRECT')));
});

t.test('rules being replaced are deleted inside the same transaction', async (t) => {
  const v4 = lines({}, 4, ['-A PREROUTING -p tcp -j LEGATE_INBOUND', '-A OUTPUT -p tcp -j LEGATE_OUTPUT']);
  t.strictSame(v4.slice(0, 7), [
    ...header,
    '-D PREROUTING -p tcp -j LEGATE_INBOUND',
    '-D OUTPUT -p tcp -j LEGATE_OUTPUT',
  ]);
  t.equal(v4.filter((line) => line === '-A OUTPUT -p tcp -j LEGATE_OUTPUT').length, 1, 'added back once');
});

t.test('duplicate ports and CIDRs are emitted once', async (t) => {
  const v4 = lines({ excludeOutboundPorts: [22, 22], excludeOutboundCidrs: ['10.1.0.0/16', '10.1.2.3/16'] }, 4);
  t.equal(v4.filter((line) => line.includes('--dport 22 ')).length, 1);
  t.equal(v4.filter((line) => line.includes('-d 10.1.0.0/16 ')).length, 1);
});

t.test('bad options are one-line errors naming the option and the value', async (t) => {
  const cases: [Partial<CaptureOptions>, RegExp][] = [
    [{ inboundPort: 0 }, /^inboundPort: 0 is not a port \(1-65535\)$/],
    [{ outboundPort: 65536 }, /^outboundPort: 65536 is not a port/],
    [{ adminPort: 1.5 }, /^adminPort: 1.5 is not a port/],
    [{ adminPort: '15000' as unknown as number }, /^adminPort: '15000' is not a port/],
    [{ proxyUid: -1 }, /^proxyUid: -1 is not a user or group id/],
    [{ proxyGid: 2 ** 32 - 1 }, /^proxyGid: 4294967295 is not a user or group id/],
    [{ includeInboundPorts: [80, 0] }, /^includeInboundPorts: 0 is not a port/],
    [{ includeInboundPorts: 'all' as '*' }, /^includeInboundPorts: expected a list of ports, got 'all'/],
    [{ excludeOutboundPorts: [NaN] }, /^excludeOutboundPorts: NaN is not a port/],
    [{ includeOutboundCidrs: ['10.0.0.0/8', 'example.com'] }, /^includeOutboundCidrs: 'example.com' is not a CIDR/],
    [{ excludeOutboundCidrs: ['10.0.0.0/33'] }, /^excludeOutboundCidrs: '10.0.0.0\/33' has an invalid prefix length \(0-32 for IPv4\)$/],
    [{ excludeOutboundCidrs: ['fd00::/129'] }, /invalid prefix length \(0-128 for IPv6\)/],
    [{ excludeOutboundCidrs: ['10.0.0.0/-1'] }, /invalid prefix length/],
    [{ excludeOutboundCidrs: [7 as unknown as string] }, /^excludeOutboundCidrs: 7 is not a CIDR$/],
  ];
  for (const [partial, message] of cases) {
    t.throws(() => buildRules({ ...captureOptions(), ...partial }, 4), { name: 'CaptureOptionsError', message }, JSON.stringify(partial));
  }
  t.throws(() => captureOptions({ inboundPort: 0 }), CaptureOptionsError);
});

t.test('the proxy group defaults to the proxy user', async (t) => {
  t.equal(captureOptions({ proxyUid: 42 }).proxyGid, 42);
  t.equal(captureOptions({ proxyUid: 42, proxyGid: 7 }).proxyGid, 7);
  t.equal(captureOptions({ proxyUid: 42, proxyGid: undefined }).proxyGid, 42, 'undefined means absent');
  t.equal(captureOptions().proxyGid, 1337);
});

import t from 'tap';
import { compileInternalAddressConfig, isInternalAddress, isLoopbackAddress, parseIPv4 } from '../../../proxy/http/internal-address.ts';

// Envoy's built-in private set (Network::Utility::isInternalAddress).
for (const a of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '127.0.0.1', '::1', '::ffff:10.0.0.1', '::FFFF:192.168.0.9', 'fd00::1', 'fd12:3456::3']) {
  t.ok(isInternalAddress(a), `${a} is internal`);
}
for (const a of ['8.8.8.8', '172.15.0.1', '172.32.0.1', '192.169.0.1', '11.0.0.1', '127.0.0.2', '2001:db8::1', '::ffff:8.8.4.4', 'fc12::3', 'fd::1', 'fe80::1', 'not-an-ip', '']) {
  t.notOk(isInternalAddress(a), `${a} is external`);
}

t.test('parseIPv4 is as strict as inet_pton', async (t) => {
  t.equal(parseIPv4('1.2.3.4'), 0x01020304);
  t.equal(parseIPv4('255.255.255.255'), 0xffffffff);
  t.equal(parseIPv4('0.0.0.0'), 0);
  t.equal(parseIPv4('x1.2.3.4y', 1, 8), 0x01020304, 'a range of a longer string');
  for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..2.3', '1.2.3.', ' 1.2.3.4', '1.2.3.4 ', '', '::1']) {
    t.equal(parseIPv4(bad), -1, `'${bad}' is not an IPv4 address`);
  }
});

t.test('loopback is exactly 127.0.0.1 or ::1', async (t) => {
  t.ok(isLoopbackAddress('127.0.0.1'));
  t.ok(isLoopbackAddress('::1'));
  t.ok(isLoopbackAddress('::ffff:127.0.0.1'));
  t.notOk(isLoopbackAddress('127.0.0.2'));
  t.notOk(isLoopbackAddress('10.0.0.1'));
});

t.test('internal_address_config', async (t) => {
  const unset = compileInternalAddressConfig(undefined);
  t.notOk(unset.isInternal('127.0.0.1'), 'unset: nothing is internal');
  t.notOk(unset.isInternal('10.0.0.1'));
  t.notOk(unset.isInternal(undefined), 'unset: not even a unix socket');

  const builtin = compileInternalAddressConfig({ unixSockets: false, cidrRanges: [] });
  t.ok(builtin.isInternal('10.0.0.1'), 'set without ranges: the private set');
  t.notOk(builtin.isInternal('203.0.113.1'));
  t.notOk(builtin.isInternal(undefined), 'unix_sockets false');

  const ranges = compileInternalAddressConfig({
    unixSockets: true,
    cidrRanges: [
      { addressPrefix: '192.0.2.0', prefixLen: 24 },
      { addressPrefix: '198.51.100.77', prefixLen: 32 },
      { addressPrefix: '2001:db8::', prefixLen: 32 },
    ],
  });
  t.ok(ranges.isInternal('192.0.2.200'));
  t.ok(ranges.isInternal('198.51.100.77'));
  t.notOk(ranges.isInternal('198.51.100.78'));
  t.notOk(ranges.isInternal('10.0.0.1'), 'ranges replace the private set');
  t.ok(ranges.isInternal('2001:db8:1::5'));
  t.notOk(ranges.isInternal('2001:db9::5'));
  t.ok(ranges.isInternal(undefined), 'unix_sockets true');

  const everything = compileInternalAddressConfig({ unixSockets: false, cidrRanges: [{ addressPrefix: '0.0.0.0', prefixLen: 0 }] });
  t.ok(everything.isInternal('203.0.113.1'), '/0 holds every IPv4 address');
  t.notOk(everything.isInternal('2001:db8::1'), 'but no IPv6 one');
});

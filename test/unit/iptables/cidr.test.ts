import t from 'tap';
import { parseCidr } from '../../../iptables/cidr.ts';

t.test('canonical text, as iptables-save prints it', async (t) => {
  const cases: [string, 4 | 6, string][] = [
    ['10.0.0.0/8', 4, '10.0.0.0/8'],
    ['10.1.2.3/8', 4, '10.0.0.0/8'],
    ['192.168.1.7', 4, '192.168.1.7/32'],
    ['172.16.5.4/20', 4, '172.16.0.0/20'],
    ['0.0.0.0/0', 4, '0.0.0.0/0'],
    ['255.255.255.255/31', 4, '255.255.255.254/31'],
    ['FD00::/8', 6, 'fd00::/8'],
    ['2001:DB8:0:0:1::/64', 6, '2001:db8::/64'],
    ['2001:db8::1', 6, '2001:db8::1/128'],
    ['::', 6, '::/128'],
    ['::/0', 6, '::/0'],
    ['1:0:0:2:0:0:0:3/128', 6, '1:0:0:2::3/128'],
    ['1:0:2:0:3:0:4:0', 6, '1:0:2:0:3:0:4:0/128'],
    ['0:0:1:0:0:1:0:0', 6, '::1:0:0:1:0:0/128'],
    ['::ffff:10.1.2.3', 6, '::ffff:a01:203/128'],
    ['fe80::1:2/65', 6, 'fe80::/65'],
    ['2001:db8:ffff::/47', 6, '2001:db8:fffe::/47'],
  ];
  for (const [input, family, text] of cases) t.strictSame(parseCidr(input), { family, text }, input);
});

t.test('rejects what is not a CIDR', async (t) => {
  for (const input of ['', '10.0.0', '10.0.0.256/8', 'example.com', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/+8', '10.0.0.0/1e1', 'fd00::/129', ':::/8']) {
    t.throws(() => parseCidr(input), { message: /is not a CIDR|invalid prefix length/ }, JSON.stringify(input));
  }
});

// http_inspector's verdict on a connection's first bytes, and filter_disabled's port predicate.
import t from 'tap';
import { detectHttp } from '../../../proxy/listener/http-inspector.ts';
import { filterDisabled } from '../../../proxy/listener/filter-disabled.ts';

t.test('detectHttp', async (t) => {
  const cases: [string, string][] = [
    ['GET / HTTP/1.1\r\nhost: a\r\n\r\n', 'http/1.1'],
    ['POST /x?y=1 HTTP/1.0\r\n', 'http/1.0'],
    ['GET / HTTP/1.1', 'need-more'],
    ['GE', 'need-more'],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'h2c'],
    ['PRI * HTTP/2.0\r\n', 'need-more'],
    ['\x16\x03\x01\x02\x00', 'not-http'],
    ['SSH-2.0-OpenSSH_9.2\r\n', 'not-http'],
    ['GET / HTTP/3.0\r\n', 'not-http'],
    ['hello world\r\n', 'not-http'],
    ['GET  / HTTP/1.1\r\n', 'not-http'],
  ];
  for (const [input, want] of cases) t.equal(detectHttp(Buffer.from(input, 'latin1')), want, JSON.stringify(input));
  t.equal(detectHttp(Buffer.alloc(64 * 1024, 'a')), 'not-http', 'no request line within 64 KiB');
});

t.test('filterDisabled', async (t) => {
  t.equal(filterDisabled(undefined, 80), false);
  t.equal(filterDisabled({ kind: 'any' }, 80), true);
  const ports = { kind: 'ports', start: 15000, end: 15010 } as const;
  t.equal(filterDisabled(ports, 15000), true);
  t.equal(filterDisabled(ports, 15010), false, 'the end is exclusive');
  t.equal(filterDisabled({ kind: 'not', rule: ports }, 80), true);
  t.equal(filterDisabled({ kind: 'or', rules: [ports, { kind: 'ports', start: 80, end: 81 }] }, 80), true);
  t.equal(filterDisabled({ kind: 'and', rules: [ports, { kind: 'any' }] }, 80), false);
});

import t from 'tap';
import type { HashPolicy } from '../../../proxy/config/model.ts';
import { cookieValue, HashPolicyEvaluator } from '../../../proxy/router/hash-policy.ts';
import type { DownstreamConnection } from '../../../proxy/router/hash-policy.ts';
import { hash32 } from '../../../proxy/router/hash.ts';
import type { RouteRequest } from '../../../proxy/router/request.ts';
import { request } from './builders.ts';

const connection: DownstreamConnection = { remoteAddress: '10.0.0.7', remotePort: 40000, localAddress: '10.0.0.1', localPort: 8080 };

function hashOf(policies: HashPolicy[], req: RouteRequest, conn: DownstreamConnection = connection) {
  return new HashPolicyEvaluator(policies).generateHash(req, conn);
}

t.test('hash32 is a stable unsigned 32-bit hash that spreads', async (t) => {
  t.equal(hash32('user-1'), hash32('user-1'));
  const seen = new Set<number>();
  let highBit = 0;
  let outOfRange = 0;
  for (let i = 0; i < 10000; i++) {
    const h = hash32(`user-${i}`);
    if (!Number.isInteger(h) || h < 0 || h > 0xffffffff) outOfRange++;
    seen.add(h);
    if (h >= 0x80000000) highBit++;
  }
  t.equal(outOfRange, 0);
  t.ok(seen.size > 9990, `distinct: ${seen.size}`);
  t.ok(highBit > 4700 && highBit < 5300, `top bit set in about half: ${highBit}`);
});

t.test('header policy: same value same hash, different values mostly different', async (t) => {
  const policy: HashPolicy[] = [{ kind: 'header', headerName: 'x-user', terminal: false }];
  const a = hashOf(policy, request({ headers: { 'x-user': 'alice' } }));
  t.ok(a);
  t.equal(hashOf(policy, request({ headers: { 'x-user': 'alice' }, path: '/other' }))?.hash, a!.hash);
  const hashes = new Set<number>();
  for (let i = 0; i < 1000; i++) hashes.add(hashOf(policy, request({ headers: { 'x-user': `u${i}` } }))!.hash);
  t.ok(hashes.size > 995);
  t.equal(hashOf(policy, request()), undefined, 'absent header: no hash');
  t.equal(
    hashOf(policy, request({ headers: { 'x-user': ['b', 'a'] } }))?.hash,
    hashOf(policy, request({ headers: { 'x-user': ['a', 'b'] } }))?.hash,
    'several values hash the same in any order',
  );
  const authority: HashPolicy[] = [{ kind: 'header', headerName: ':authority', terminal: false }];
  t.equal(hashOf(authority, request({ authority: 'a.com' }))?.hash, hash32('a.com'), 'pseudo-headers come from the request');
});

t.test('source_ip and query_parameter', async (t) => {
  const source: HashPolicy[] = [{ kind: 'source_ip', terminal: false }];
  t.equal(hashOf(source, request())?.hash, hash32('10.0.0.7'));
  t.equal(hashOf(source, request(), { ...connection, remotePort: 1 })?.hash, hash32('10.0.0.7'), 'the port does not count');
  t.equal(hashOf(source, request(), {}), undefined);
  const query: HashPolicy[] = [{ kind: 'query_parameter', name: 'session', terminal: false }];
  t.equal(hashOf(query, request({ path: '/x?a=1&session=abc' }))?.hash, hash32('abc'));
  t.equal(hashOf(query, request({ path: '/x?a=1' })), undefined);
});

t.test('cookie policy', async (t) => {
  t.equal(cookieValue('a=1; session="xyz"; b=2', 'session'), 'xyz', 'quotes are removed');
  t.equal(cookieValue('a=1;session=xyz', 'session'), 'xyz');
  t.equal(cookieValue('mysession=1', 'session'), undefined);

  const passive: HashPolicy[] = [{ kind: 'cookie', name: 'session', terminal: false }];
  t.same(hashOf(passive, request({ headers: { cookie: 'session=xyz' } })), { hash: hash32('xyz') });
  t.equal(hashOf(passive, request()), undefined, 'no cookie and no ttl: no hash');

  const generated: HashPolicy[] = [{ kind: 'cookie', name: 'session', ttlMs: 3600_000, path: '/app', terminal: false }];
  const first = hashOf(generated, request());
  t.ok(first?.setCookies);
  const setCookie = first!.setCookies![0];
  t.match(setCookie, /^session="[0-9a-f]{8}"; Max-Age=3600; Path=\/app; HttpOnly$/);
  t.same(hashOf(generated, request()), first, 'streams on one connection get the same cookie');
  t.not(hashOf(generated, request(), { ...connection, remotePort: 40001 })?.hash, first!.hash, 'another connection, another cookie');
  // the client sends the cookie back: the same hash, and no new cookie
  const cookie = setCookie.slice(0, setCookie.indexOf(';'));
  t.same(hashOf(generated, request({ headers: { cookie } })), { hash: first!.hash });

  const session: HashPolicy[] = [{ kind: 'cookie', name: 's', ttlMs: 0, terminal: false }];
  t.match(hashOf(session, request())!.setCookies![0], /^s="[0-9a-f]{8}"; HttpOnly$/, 'ttl 0: a session cookie');
});

t.test('several policies combine; terminal stops once a hash exists', async (t) => {
  const user: HashPolicy = { kind: 'header', headerName: 'x-user', terminal: false };
  const tenant: HashPolicy = { kind: 'header', headerName: 'x-tenant', terminal: false };
  const req = request({ headers: { 'x-user': 'alice', 'x-tenant': 'acme' } });
  const rotate = (h: number) => ((h << 1) | (h >>> 31)) >>> 0;
  t.equal(hashOf([user, tenant], req)?.hash, (rotate(hash32('alice')) ^ hash32('acme')) >>> 0, 'rotate-left then xor');
  t.not(hashOf([user, user], req)?.hash, 0, 'the same policy twice does not cancel out');
  t.equal(hashOf([{ ...user, terminal: true }, tenant], req)?.hash, hash32('alice'), 'terminal with a hash stops');
  t.equal(
    hashOf([{ ...user, terminal: true }, tenant], request({ headers: { 'x-tenant': 'acme' } }))?.hash,
    hash32('acme'),
    'terminal without a hash falls through',
  );
  t.equal(hashOf([tenant, user], request({ headers: { 'x-user': 'alice' } }))?.hash, hash32('alice'), 'a missing policy adds nothing');
});

// jwt_authn's parts without a proxy: parsing, signatures of every algorithm with JWKS keys, key
// selection by kid and alg, exp/nbf with clock skew, audiences, token extraction, and the
// requirement tree (requires_any / requires_all / allow_missing) with Envoy's statuses.
import { createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import t from 'tap';
import type { JwtProviderConfig, JwtRequirement } from '../../../../../proxy/config/model.ts';
import { Extractor, removeToken } from '../../../../../proxy/http/filters/jwt-authn/extractor.ts';
import { parseJwks, verifySignature } from '../../../../../proxy/http/filters/jwt-authn/jwks.ts';
import { audienceCheck, checkTime, parseJwt, type Jwt } from '../../../../../proxy/http/filters/jwt-authn/jwt.ts';
import { ProviderKeys } from '../../../../../proxy/http/filters/jwt-authn/provider-keys.ts';
import { JwtStatus } from '../../../../../proxy/http/filters/jwt-authn/status.ts';
import { createVerifier, type Provider, type VerifyContext } from '../../../../../proxy/http/filters/jwt-authn/verifier.ts';
import { Store } from '../../../../../proxy/stats/index.ts';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function token(alg: string, key: KeyObject | Buffer, claims: Record<string, unknown>, kid?: string): string {
  const data = `${b64({ alg, kid })}.${b64(claims)}`;
  const digest = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
  let signature: Buffer;
  if (alg.startsWith('HS')) signature = createHmac(digest!, key as Buffer).update(data).digest();
  else if (alg.startsWith('ES')) signature = sign(digest, Buffer.from(data), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  else if (alg.startsWith('PS')) signature = sign(digest, Buffer.from(data), { key: key as KeyObject, padding: 6, saltLength: -1 });
  else signature = sign(digest, Buffer.from(data), key as KeyObject);
  return `${data}.${signature.toString('base64url')}`;
}

const jwkOf = (key: KeyObject, extra: object) => ({ ...key.export({ format: 'jwk' }), ...extra });
const parsed = (text: string): Jwt => {
  const jwt = parseJwt(text);
  if (typeof jwt === 'string') throw new Error(jwt);
  return jwt;
};

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
const ed = generateKeyPairSync('ed25519');
const secret = randomBytes(32);

t.test('signatures of every algorithm verify with their JWKS key, and fail with another', async (t) => {
  const jwks = parseJwks(JSON.stringify({
    keys: [
      jwkOf(rsa.publicKey, { kid: 'rsa' }),
      jwkOf(p256.publicKey, { kid: 'p256' }),
      jwkOf(p384.publicKey, { kid: 'p384' }),
      jwkOf(p521.publicKey, { kid: 'p521' }),
      jwkOf(ed.publicKey, { kid: 'ed' }),
      { kty: 'oct', k: secret.toString('base64url'), kid: 'hmac' },
      { kty: 'RSA', kid: 'broken', n: 5 }, // skipped
      { kty: 'unknown', kid: 'x' }, // skipped
    ],
  }));
  t.equal(jwks?.length, 6, 'unusable keys are skipped');
  const cases: [string, KeyObject | Buffer, string][] = [
    ['RS256', rsa.privateKey, 'rsa'], ['RS384', rsa.privateKey, 'rsa'], ['RS512', rsa.privateKey, 'rsa'],
    ['PS256', rsa.privateKey, 'rsa'], ['PS384', rsa.privateKey, 'rsa'], ['PS512', rsa.privateKey, 'rsa'],
    ['ES256', p256.privateKey, 'p256'], ['ES384', p384.privateKey, 'p384'], ['ES512', p521.privateKey, 'p521'],
    ['HS256', secret, 'hmac'], ['HS384', secret, 'hmac'], ['HS512', secret, 'hmac'], ['EdDSA', ed.privateKey, 'ed'],
  ];
  const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  for (const [alg, key, kid] of cases) {
    t.equal(verifySignature(parsed(token(alg, key, { sub: 'a' }, kid)), jwks!), JwtStatus.ok, `${alg} verifies`);
    t.equal(verifySignature(parsed(token(alg, key, { sub: 'a' })), jwks!), JwtStatus.ok, `${alg} without a kid: every fitting key is tried`);
  }
  t.equal(verifySignature(parsed(token('RS256', otherRsa.privateKey, {}, 'rsa')), jwks!), JwtStatus.verificationFail, 'another key\'s signature fails');
  t.equal(verifySignature(parsed(token('RS256', rsa.privateKey, {}, 'nope')), jwks!), JwtStatus.jwksKidAlgMismatch, 'no key with that kid');
  t.equal(verifySignature(parsed(token('ES384', p256.privateKey, {}, 'p256')), jwks!), JwtStatus.jwksKidAlgMismatch, 'an EC key of another curve does not fit');
  const tampered = token('RS256', rsa.privateKey, { sub: 'a' }, 'rsa').split('.');
  tampered[1] = b64({ sub: 'admin' });
  t.equal(verifySignature(parsed(tampered.join('.')), jwks!), JwtStatus.verificationFail, 'a changed payload fails');
  const algPinned = parseJwks(JSON.stringify({ keys: [jwkOf(rsa.publicKey, { alg: 'RS256' })] }))!;
  t.equal(verifySignature(parsed(token('PS256', rsa.privateKey, {})), algPinned), JwtStatus.jwksKidAlgMismatch, 'a key\'s alg must be the token\'s');
  const pem = parseJwks(p256.publicKey.export({ format: 'pem', type: 'spki' }) as string)!;
  t.equal(verifySignature(parsed(token('ES256', p256.privateKey, {})), pem), JwtStatus.ok, 'a PEM public key is a JWKS of one key');
  t.equal(parseJwks('{"keys": []}'), undefined, 'no usable key');
  t.equal(parseJwks('garbage'), undefined);
});

t.test('parsing: Envoy\'s statuses for malformed tokens', async (t) => {
  t.equal(parseJwt('a.b'), JwtStatus.badFormat);
  t.equal(parseJwt('!!.e30.'), JwtStatus.headerBadBase64);
  t.equal(parseJwt(`${Buffer.from('{nope').toString('base64url')}.e30.`), JwtStatus.headerBadJson);
  t.equal(parseJwt(`${b64({ alg: 5 })}.e30.`), JwtStatus.headerBadAlg);
  t.equal(parseJwt(`${b64({ alg: 'none' })}.e30.`), JwtStatus.headerNotImplementedAlg, 'alg none is refused');
  t.equal(parseJwt(`${b64({ alg: 'RS256', kid: 1 })}.e30.`), JwtStatus.headerBadKid);
  const withClaims = (claims: unknown) => parseJwt(`${b64({ alg: 'RS256' })}.${b64(claims)}.`);
  t.equal(withClaims([1]), JwtStatus.payloadBadJson, 'a payload that is not an object');
  t.equal(parseJwt(`${b64({ alg: 'RS256' })}.a=b.`), JwtStatus.payloadBadBase64);
  t.equal(withClaims({ exp: 'soon' }), JwtStatus.expNotInteger);
  t.equal(withClaims({ exp: 1.5 }), JwtStatus.expNotInteger);
  t.equal(withClaims({ nbf: -1 }), JwtStatus.nbfOutOfRange);
  t.equal(withClaims({ iat: true }), JwtStatus.iatNotInteger);
  t.equal(withClaims({ iss: 1 }), JwtStatus.issNotString);
  t.equal(withClaims({ sub: {} }), JwtStatus.subNotString);
  t.equal(withClaims({ jti: 2 }), JwtStatus.jtiNotString);
  t.equal(withClaims({ aud: [1] }), JwtStatus.audNotString);
  t.equal(parseJwt(`${b64({ alg: 'RS256' })}.e30.a+b`), JwtStatus.signatureBadBase64);
  const jwt = parsed(`${b64({ alg: 'RS256' })}.${b64({ iss: 'i', aud: ['x', 'y'], exp: 10, nbf: 5 })}.`);
  t.same([jwt.iss, jwt.audiences, jwt.exp, jwt.nbf], ['i', ['x', 'y'], 10, 5]);
});

t.test('time: exp and nbf with clock skew', async (t) => {
  const jwt = parsed(`${b64({ alg: 'RS256' })}.${b64({ exp: 1000, nbf: 500 })}.`);
  t.equal(checkTime(jwt, 1000, 60), JwtStatus.ok);
  t.equal(checkTime(jwt, 1060, 60), JwtStatus.ok, 'at exp + skew still valid');
  t.equal(checkTime(jwt, 1061, 60), JwtStatus.expired);
  t.equal(checkTime(jwt, 1001, 0), JwtStatus.expired, 'no skew');
  t.equal(checkTime(jwt, 440, 60), JwtStatus.ok, 'nbf - skew is valid');
  t.equal(checkTime(jwt, 439, 60), JwtStatus.notYetValid);
  t.equal(checkTime(parsed(`${b64({ alg: 'RS256' })}.e30.`), 1e12, 60), JwtStatus.ok, 'no exp: never expires');
});

t.test('audiences: scheme and trailing slash do not matter; none configured allows all', async (t) => {
  const check = audienceCheck(['https://api.example/', 'other']);
  t.ok(check(['api.example']));
  t.ok(check(['http://api.example']));
  t.ok(check(['x', 'other']));
  t.notOk(check(['x']));
  t.notOk(check([]), 'a token without aud where audiences are required');
  t.ok(audienceCheck([])([]));
});

function provider(name: string, issuer: string, extra: Partial<JwtProviderConfig> = {}): JwtProviderConfig {
  return {
    name, issuer, audiences: [], jwks: { kind: 'local', text: JSON.stringify({ keys: [jwkOf(rsa.publicKey, {})] }) }, forward: false,
    fromHeaders: [{ name: 'authorization', valuePrefix: 'Bearer ' }], fromParams: ['access_token'], fromCookies: [], forwardPayloadHeader: '',
    padForwardPayloadHeader: false, clockSkewSeconds: 60, jwtCacheSize: 0, claimToHeaders: [], clearRouteCache: false,
    payloadInMetadata: '', spaceDelimitedClaims: [], headerInMetadata: '', failedStatusInMetadata: '', ...extra,
  };
}

t.test('extraction: prefix, params, cookies; issuers per location', async (t) => {
  const extractor = new Extractor([provider('a', 'ia'), provider('b', 'ib', { fromHeaders: [{ name: 'x-jwt', valuePrefix: '' }], fromParams: [], fromCookies: ['session'] })]);
  const tokens = extractor.extract({
    method: 'GET', path: '/p?x=1&access_token=aa.bb.cc', scheme: 'http', protocol: 'HTTP/1.1',
    headers: { authorization: 'Bearer  tt.uu.vv', 'x-jwt': 'whole', cookie: 'a=1; session="ss.tt.uu"' },
  });
  t.same(tokens.map((k) => [k.token, k.location.kind, k.location.name]), [
    ['tt.uu.vv', 'header', 'authorization'],
    ['aa.bb.cc', 'param', 'access_token'],
    ['whole', 'header', 'x-jwt'],
    ['ss.tt.uu', 'cookie', 'session'],
  ]);
  t.ok(tokens[0].issuerAllowed('ia'));
  t.notOk(tokens[0].issuerAllowed('ib'), 'a location accepts its providers\' issuers only');
  t.same(extractor.extract({ method: 'GET', path: '/', scheme: 'http', protocol: 'HTTP/1.1', headers: { authorization: 'Basic abc' } }), [], 'another scheme is no token');
  t.same(extractor.extract({ method: 'GET', path: '/', scheme: 'http', protocol: 'HTTP/1.1', headers: { authorization: 'Bearer ' } }).map((k) => k.token), ['Bearer '], 'a prefix without a token: the value, which fails to parse (Envoy)');
  const head = { method: 'GET', path: '/p?a=1&access_token=x.y.z&b=2#f', scheme: 'http', protocol: 'HTTP/1.1' as const, headers: { authorization: 'Bearer x.y.z', keep: '1' } };
  removeToken(head, { kind: 'param', name: 'access_token', prefix: '', issuers: new Set() });
  t.equal(head.path, '/p?a=1&b=2#f', 'a token in the query is removed from it');
  removeToken(head, { kind: 'header', name: 'authorization', prefix: 'Bearer ', issuers: new Set() });
  t.same(head.headers, { keep: '1' }, 'a token in a header: the header goes');
  const sanitizing = new Extractor([provider('c', '', { forwardPayloadHeader: 'x-payload', claimToHeaders: [{ headerName: 'x-sub', claimName: 'sub' }] })]);
  const headers: Record<string, string> = { 'x-payload': 'forged', 'x-sub': 'forged', other: 'kept' };
  sanitizing.sanitize(headers);
  t.same(headers, { other: 'kept' }, 'headers only a verified token may set are removed first');
});

t.test('requirements: any, all, allow_missing, allow_missing_or_failed', async (t) => {
  const store = new Store();
  const configs = [provider('a', 'ia'), provider('b', 'ib', { fromHeaders: [{ name: 'x-b', valuePrefix: '' }], fromParams: [] })];
  const providers = new Map<string, Provider>(configs.map((c) => [c.name, {
    config: c, extractor: new Extractor([c]), audiencesAllowed: audienceCheck(c.audiences), cache: undefined,
    keys: new ProviderKeys(c.jwks, undefined, { jwksFetchSuccess: store.counter('s'), jwksFetchFailed: store.counter('f') }),
  }]));
  const env = { providers, allLocations: new Extractor(configs), cacheHit: store.counter('hit'), cacheMiss: store.counter('miss'), singleProvider: undefined };
  const now = Math.floor(Date.now() / 1000);
  const good = (iss: string) => token('RS256', rsa.privateKey, { iss, exp: now + 60 });
  const bad = (iss: string) => token('RS256', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey, { iss });
  const run = (requirement: JwtRequirement, headers: Record<string, string>): JwtStatus => {
    let result: JwtStatus | undefined;
    const ctx: VerifyContext = { head: { method: 'GET', path: '/', scheme: 'http', protocol: 'HTTP/1.1', headers }, nowSeconds: now, cancelled: false, verified: new Set() };
    createVerifier(requirement, env)!.verify(ctx, (s) => (result = s));
    if (result === undefined) throw new Error('local keys answer synchronously');
    return result;
  };
  const a = { kind: 'provider', provider: 'a' } as const;
  const b = { kind: 'provider', provider: 'b' } as const;
  const istio: JwtRequirement = { kind: 'any', requirements: [a, { kind: 'allow_missing' }] };
  t.equal(run(a, { authorization: `Bearer ${good('ia')}` }), JwtStatus.ok);
  t.equal(run(a, { authorization: `Bearer ${good('ib')}` }), JwtStatus.unknownIssuer);
  t.equal(run(istio, {}), JwtStatus.ok, 'allow_missing: no token');
  t.equal(run(istio, { authorization: `Bearer ${bad('ia')}` }), JwtStatus.verificationFail, 'allow_missing does not allow a bad token');
  t.equal(run({ kind: 'allow_missing_or_failed' }, { authorization: `Bearer ${bad('ia')}` }), JwtStatus.ok);
  t.equal(run({ kind: 'any', requirements: [a, b] }, { 'x-b': good('ib') }), JwtStatus.ok, 'any: the second provider');
  t.equal(run({ kind: 'any', requirements: [a, b] }, {}), JwtStatus.missing);
  t.equal(run({ kind: 'any', requirements: [a, b] }, { 'x-b': bad('ib') }), JwtStatus.verificationFail, 'any: a real failure beats "missing"');
  t.equal(run({ kind: 'all', requirements: [a, b] }, { authorization: `Bearer ${good('ia')}`, 'x-b': good('ib') }), JwtStatus.ok, 'all: both');
  t.equal(run({ kind: 'all', requirements: [a, b] }, { authorization: `Bearer ${good('ia')}` }), JwtStatus.missing, 'all: one missing');
  t.equal(run(a, { authorization: `Bearer ${good('ia')}` }), JwtStatus.ok);
  t.equal(run({ kind: 'provider', provider: 'a', audiences: ['need'] }, { authorization: `Bearer ${good('ia')}` }), JwtStatus.audienceNotAllowed, 'provider_and_audiences');
});

t.test('a request that ends while its keys are fetched gets no answer; the next one does', async (t) => {
  const store = new Store();
  const config = provider('r', 'ir', { jwks: { kind: 'remote', uri: 'http://keys/jwks', cluster: 'keys', timeoutMs: 1000, cacheDurationMs: 60_000 } });
  const waiting: ((jwks: ReturnType<typeof parseJwks>, status: JwtStatus) => void)[] = [];
  const keys = { get: (callback: (typeof waiting)[number]) => waiting.push(callback) } as unknown as ProviderKeys;
  const providers = new Map<string, Provider>([['r', { config, extractor: new Extractor([config]), audiencesAllowed: () => true, cache: undefined, keys }]]);
  const verifier = createVerifier({ kind: 'provider', provider: 'r' }, { providers, allLocations: new Extractor([config]), cacheHit: store.counter('h'), cacheMiss: store.counter('m'), singleProvider: providers.get('r') })!;
  const now = Math.floor(Date.now() / 1000);
  const head = () => ({ method: 'GET', path: '/', scheme: 'http', protocol: 'HTTP/1.1' as const, headers: { authorization: `Bearer ${token('RS256', rsa.privateKey, { iss: 'ir' })}` } });
  const answers: JwtStatus[] = [];
  const gone: VerifyContext = { head: head(), nowSeconds: now, cancelled: false, verified: new Set() };
  verifier.verify(gone, (s) => answers.push(s));
  gone.cancelled = true;
  const next: VerifyContext = { head: head(), nowSeconds: now, cancelled: false, verified: new Set() };
  verifier.verify(next, (s) => answers.push(s));
  t.equal(waiting.length, 2, 'both wait for the keys');
  const jwks = parseJwks(JSON.stringify({ keys: [jwkOf(rsa.publicKey, {})] }));
  for (const callback of waiting) callback(jwks, JwtStatus.ok);
  t.same(answers, [JwtStatus.ok], 'only the request still there is answered');
  t.equal(next.head.headers.authorization, undefined, 'its token removed (forward unset)');
  t.equal(gone.head.headers.authorization !== undefined, true, 'the gone one left untouched');
});

t.test('*_in_metadata: the payload (space-delimited claims as lists), the header, a failure\'s status', async (t) => {
  const store = new Store();
  const configs = [
    provider('a', 'ia', { payloadInMetadata: 'payload', spaceDelimitedClaims: ['scope', 'blank', 'groups'], headerInMetadata: 'hdr', failedStatusInMetadata: 'failure' }),
    provider('b', 'ib', { fromHeaders: [{ name: 'x-b', valuePrefix: '' }], fromParams: [], payloadInMetadata: 'payload' }),
  ];
  const providers = new Map<string, Provider>(configs.map((c) => [c.name, {
    config: c, extractor: new Extractor([c]), audiencesAllowed: audienceCheck(c.audiences), cache: undefined,
    keys: new ProviderKeys(c.jwks, undefined, { jwksFetchSuccess: store.counter('s'), jwksFetchFailed: store.counter('f') }),
  }]));
  const env = (single: Provider | undefined) => ({ providers, allLocations: new Extractor(configs), cacheHit: store.counter('h'), cacheMiss: store.counter('m'), singleProvider: single });
  const now = Math.floor(Date.now() / 1000);
  const run = (requirement: JwtRequirement, headers: Record<string, string>, single?: Provider) => {
    let status: JwtStatus | undefined;
    const ctx: VerifyContext = { head: { method: 'GET', path: '/', scheme: 'http', protocol: 'HTTP/1.1', headers }, nowSeconds: now, cancelled: false, verified: new Set() };
    createVerifier(requirement, env(single))!.verify(ctx, (s) => (status = s));
    return { status, extracted: ctx.extracted };
  };
  const claims = { iss: 'ia', sub: 'alice', exp: now + 60, scope: 'read  write', blank: ' ', groups: ['g1'], nested: { team: 'x' } };
  const good = run({ kind: 'provider', provider: 'a' }, { authorization: `Bearer ${token('RS256', rsa.privateKey, claims, 'k1')}` });
  t.equal(good.status, JwtStatus.ok);
  t.same(good.extracted, {
    payload: { ...claims, scope: ['read', 'write'] }, // a blank string and a list stay as they are
    hdr: { alg: 'RS256', kid: 'k1' },
  });
  const expired = run({ kind: 'provider', provider: 'a' }, { authorization: `Bearer ${token('RS256', rsa.privateKey, { ...claims, exp: now - 3600 })}` });
  t.equal(expired.status, JwtStatus.expired);
  t.same(expired.extracted, { failure: { code: 3, message: 'Jwt is expired' } }, 'Envoy\'s status number and message, no payload');
  t.same(run({ kind: 'provider', provider: 'a' }, {}).extracted, undefined, 'missing with two providers: no provider to record it under');
  t.same(run({ kind: 'provider', provider: 'a' }, {}, providers.get('a')).extracted, { failure: { code: 1, message: 'Jwt is missing' } }, 'missing with one provider: its key');
  const other = run({ kind: 'any', requirements: [{ kind: 'provider', provider: 'a' }, { kind: 'provider', provider: 'b' }] }, { 'x-b': token('RS256', rsa.privateKey, { iss: 'ib', sub: 'bob' }) });
  t.equal(other.status, JwtStatus.ok);
  t.same(other.extracted, { payload: { iss: 'ib', sub: 'bob' } }, 'the provider that verified writes under its own key');
});

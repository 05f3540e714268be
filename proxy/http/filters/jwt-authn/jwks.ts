// A JSON Web Key Set (RFC 7517) as node:crypto keys, and a token's signature checked against it.
// Keys Envoy could not use (unknown kty, a bad modulus, an alg of the wrong family) are skipped; a
// set with none left is Envoy's "no valid public key". A provider's JWKS may also be a PEM public key.
import { createHmac, createPublicKey, createSecretKey, constants, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { Jwt } from './jwt.ts';
import { JwtStatus } from './status.ts';

type KeyFamily = 'RSA' | 'EC' | 'oct' | 'OKP';

export interface Jwk {
  kid: string | undefined;
  alg: string | undefined;
  family: KeyFamily;
  /** EC and OKP keys: their curve (P-256, P-384, P-521, Ed25519). */
  crv: string | undefined;
  key: KeyObject;
}

export type Jwks = readonly Jwk[];

const EC_CURVE_BY_ALG: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** A JWKS document or a PEM public key; undefined when it holds no usable key. */
export function parseJwks(text: string): Jwks | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return pemKey(text);
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return undefined;
  const out: Jwk[] = [];
  for (const raw of keys) {
    const jwk = parseJwk(raw);
    if (jwk !== undefined) out.push(jwk);
  }
  return out.length === 0 ? undefined : out;
}

function parseJwk(raw: unknown): Jwk | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const k = raw as Record<string, unknown>;
  const kid = typeof k.kid === 'string' ? k.kid : undefined;
  const alg = typeof k.alg === 'string' ? k.alg : undefined;
  if ((k.kid !== undefined && kid === undefined) || (k.alg !== undefined && alg === undefined)) return undefined;
  try {
    switch (k.kty) {
      case 'RSA':
        if (alg !== undefined && !alg.startsWith('RS') && !alg.startsWith('PS')) return undefined;
        if (typeof k.n !== 'string' || typeof k.e !== 'string') return undefined;
        return { kid, alg, family: 'RSA', crv: undefined, key: createPublicKey({ key: { kty: 'RSA', n: k.n, e: k.e }, format: 'jwk' }) };
      case 'EC': {
        if (alg !== undefined && EC_CURVE_BY_ALG[alg] === undefined) return undefined;
        const crv = typeof k.crv === 'string' ? k.crv : alg === undefined ? undefined : EC_CURVE_BY_ALG[alg];
        if (crv === undefined || (alg !== undefined && EC_CURVE_BY_ALG[alg] !== crv)) return undefined;
        if (typeof k.x !== 'string' || typeof k.y !== 'string') return undefined;
        return { kid, alg, family: 'EC', crv, key: createPublicKey({ key: { kty: 'EC', crv, x: k.x, y: k.y }, format: 'jwk' }) };
      }
      case 'oct':
        if ((alg !== undefined && !alg.startsWith('HS')) || typeof k.k !== 'string') return undefined;
        return { kid, alg, family: 'oct', crv: undefined, key: createSecretKey(Buffer.from(k.k, 'base64url')) };
      case 'OKP':
        if ((alg !== undefined && alg !== 'EdDSA') || k.crv !== 'Ed25519' || typeof k.x !== 'string') return undefined;
        return { kid, alg, family: 'OKP', crv: 'Ed25519', key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.x }, format: 'jwk' }) };
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

function pemKey(text: string): Jwks | undefined {
  try {
    const key = createPublicKey(text);
    const type = key.asymmetricKeyType;
    if (type === 'rsa') return [{ kid: undefined, alg: undefined, family: 'RSA', crv: undefined, key }];
    if (type === 'ed25519') return [{ kid: undefined, alg: undefined, family: 'OKP', crv: 'Ed25519', key }];
    if (type === 'ec') {
      const crv = key.export({ format: 'jwk' }).crv;
      return [{ kid: undefined, alg: undefined, family: 'EC', crv, key }];
    }
  } catch {
    // not a PEM key either
  }
  return undefined;
}

function familyOf(alg: string): KeyFamily {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return 'RSA';
  if (alg.startsWith('ES')) return 'EC';
  if (alg.startsWith('HS')) return 'oct';
  return 'OKP';
}

/**
 * Envoy's key selection: a key whose kid (when both have one) and alg (when the key has one) fit
 * the token is tried; the first that verifies wins. None fitting is a kid/alg mismatch.
 */
export function verifySignature(jwt: Jwt, jwks: Jwks): JwtStatus {
  const family = familyOf(jwt.alg);
  let fitted = false;
  for (const jwk of jwks) {
    if (jwt.kid !== undefined && jwk.kid !== undefined && jwt.kid !== jwk.kid) continue;
    if (jwk.alg !== undefined && jwk.alg !== jwt.alg) continue;
    if (jwk.family !== family) continue;
    if (family === 'EC' && jwk.crv !== EC_CURVE_BY_ALG[jwt.alg]) continue;
    fitted = true;
    if (verifyWith(jwt, jwk.key)) return JwtStatus.ok;
  }
  return fitted ? JwtStatus.verificationFail : JwtStatus.jwksKidAlgMismatch;
}

function verifyWith(jwt: Jwt, key: KeyObject): boolean {
  const { alg, signedData, signature } = jwt;
  const digest = `sha${alg.slice(2)}`;
  try {
    switch (alg.slice(0, 2)) {
      case 'RS':
        return verify(digest, signedData, key, signature);
      case 'PS':
        return verify(digest, signedData, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
      case 'ES':
        return verify(digest, signedData, { key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'HS': {
        const mac = createHmac(digest, key).update(signedData).digest();
        return mac.length === signature.length && timingSafeEqual(mac, signature);
      }
      default:
        return verify(null, signedData, key, signature); // EdDSA
    }
  } catch {
    return false; // a signature of the wrong size, a key too small for the digest
  }
}

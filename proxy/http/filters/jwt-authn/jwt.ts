// A JSON Web Token (RFC 7519) split and parsed, not yet trusted: its header (alg, kid), its claims
// (iss, aud, exp, nbf) and what its signature covers. Parsing failures are Envoy's statuses.
import { JwtStatus } from './status.ts';

/** The algorithms Legate verifies (Envoy's set). */
export const ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'EdDSA']);

export interface Jwt {
  alg: string;
  kid: string | undefined;
  iss: string;
  audiences: string[];
  /** Seconds since the epoch; 0 = not set. */
  exp: number;
  nbf: number;
  /** The header and payload as parsed (JSON): header_in_metadata's and payload_in_metadata's Structs. */
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** The payload as it was sent (base64url, unpadded): forward_payload_header's value. */
  payloadBase64url: string;
  /** header.payload: what the signature signs. */
  signedData: Buffer;
  signature: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function parseJwt(token: string): Jwt | JwtStatus {
  const parts = token.split('.');
  if (parts.length !== 3) return JwtStatus.badFormat;
  const [headerPart, payloadPart, signaturePart] = parts;
  const header = decodeJson(headerPart, JwtStatus.headerBadBase64, JwtStatus.headerBadJson);
  if (typeof header === 'string') return header;
  if (typeof header.alg !== 'string') return JwtStatus.headerBadAlg;
  if (!ALGORITHMS.has(header.alg)) return JwtStatus.headerNotImplementedAlg;
  if (header.kid !== undefined && typeof header.kid !== 'string') return JwtStatus.headerBadKid;
  const payload = decodeJson(payloadPart, JwtStatus.payloadBadBase64, JwtStatus.payloadBadJson);
  if (typeof payload === 'string') return payload;
  const { iss, sub, aud, jti } = payload;
  if (iss !== undefined && typeof iss !== 'string') return JwtStatus.issNotString;
  if (sub !== undefined && typeof sub !== 'string') return JwtStatus.subNotString;
  const iat = time(payload.iat, JwtStatus.iatNotInteger, JwtStatus.iatOutOfRange);
  if (typeof iat === 'string') return iat;
  const nbf = time(payload.nbf, JwtStatus.nbfNotInteger, JwtStatus.nbfOutOfRange);
  if (typeof nbf === 'string') return nbf;
  const exp = time(payload.exp, JwtStatus.expNotInteger, JwtStatus.expOutOfRange);
  if (typeof exp === 'string') return exp;
  if (jti !== undefined && typeof jti !== 'string') return JwtStatus.jtiNotString;
  let audiences: string[] = [];
  if (typeof aud === 'string') audiences = [aud];
  else if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) audiences = aud as string[];
  else if (aud !== undefined) return JwtStatus.audNotString;
  if (!BASE64URL.test(signaturePart)) return JwtStatus.signatureBadBase64;
  return {
    alg: header.alg,
    kid: header.kid as string | undefined,
    iss: iss ?? '',
    audiences,
    exp,
    nbf,
    header,
    payload,
    payloadBase64url: payloadPart,
    signedData: Buffer.from(`${headerPart}.${payloadPart}`, 'latin1'),
    signature: Buffer.from(signaturePart, 'base64url'),
  };
}

function decodeJson(part: string, badBase64: JwtStatus, badJson: JwtStatus): Record<string, unknown> | JwtStatus {
  if (!BASE64URL.test(part)) return badBase64;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : badJson;
  } catch {
    return badJson;
  }
}

// iat, nbf, exp: whole seconds, not negative; 0 when absent.
function time(value: unknown, notInteger: JwtStatus, outOfRange: JwtStatus): number | JwtStatus {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value)) return notInteger;
  return value < 0 ? outOfRange : value;
}

/** exp and nbf against now, each allowed clockSkew seconds of slack (Envoy checks no iat). */
export function checkTime(jwt: Jwt, nowSeconds: number, clockSkewSeconds: number): JwtStatus {
  if (jwt.nbf !== 0 && nowSeconds + clockSkewSeconds < jwt.nbf) return JwtStatus.notYetValid;
  if (jwt.exp !== 0 && nowSeconds > jwt.exp + clockSkewSeconds) return JwtStatus.expired;
  return JwtStatus.ok;
}

// Envoy compares audiences without their scheme and trailing slash.
function normalizeAudience(aud: string): string {
  let out = aud;
  if (out.startsWith('http://')) out = out.slice(7);
  else if (out.startsWith('https://')) out = out.slice(8);
  return out.endsWith('/') ? out.slice(0, -1) : out;
}

/** An audience check: allowed when nothing is configured, or when one of the token's audiences is. */
export function audienceCheck(configured: readonly string[]): (audiences: readonly string[]) => boolean {
  if (configured.length === 0) return () => true;
  const allowed = new Set(configured.map(normalizeAudience));
  return (audiences) => audiences.some((a) => allowed.has(normalizeAudience(a)));
}

// Checks a peer certificate against a validation context, by Envoy's rules (DefaultCertValidator):
// a trusted_ca means the chain must verify; with SAN matchers, any SAN of a matcher's type that
// matches any matcher passes; with SPKI pins or certificate hashes, the certificate must match
// one of either list. OpenSSL verified the chain during the handshake (node reports it as
// `authorized`); the rest is checked here, once the handshake is done.
import { createHash } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { CertificateValidation, SanMatcher, SanType, StringMatcher } from '../config/model.ts';

export type VerifyFailure = 'fail_verify_no_cert' | 'fail_verify_error' | 'fail_verify_san' | 'fail_verify_cert_hash';

export type VerifyResult = { ok: true } | { ok: false; failure: VerifyFailure; reason: string };

const OK: VerifyResult = { ok: true };

export interface Sans {
  DNS: string[];
  URI: string[];
  IP_ADDRESS: string[];
  EMAIL: string[];
}

/** node's `subjectaltname` text ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4, email:e") by type. */
export function parseSubjectAltName(text: string | undefined): Sans {
  const sans: Sans = { DNS: [], URI: [], IP_ADDRESS: [], EMAIL: [] };
  if (text === undefined || text === '') return sans;
  // Values with a comma are written JSON-quoted by node: DNS:"a,b".
  const entry = /(DNS|URI|IP Address|email|othername|DirName|Registered ID):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const m of text.matchAll(entry)) {
    const value = m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2];
    if (m[1] === 'DNS') sans.DNS.push(value);
    else if (m[1] === 'URI') sans.URI.push(value);
    else if (m[1] === 'IP Address') sans.IP_ADDRESS.push(value);
    else if (m[1] === 'email') sans.EMAIL.push(value);
  }
  return sans;
}

export function matchString(m: StringMatcher, value: string): boolean {
  const v = m.ignoreCase ? value.toLowerCase() : value;
  const want = m.ignoreCase ? m.value.toLowerCase() : m.value;
  switch (m.kind) {
    case 'exact': return v === want;
    case 'prefix': return v.startsWith(want);
    case 'suffix': return v.endsWith(want);
    case 'contains': return v.includes(want);
    case 'safe_regex': return compiled(m).test(value);
  }
}

// Compiled once per matcher (matchers live as long as their snapshot).
const regexes = new WeakMap<StringMatcher, RegExp>();
function compiled(m: StringMatcher): RegExp {
  let re = regexes.get(m);
  if (re === undefined) {
    re = new RegExp(`^(?:${m.value})$`, m.ignoreCase ? 'i' : '');
    regexes.set(m, re);
  }
  return re;
}

// Envoy lets a wildcard DNS SAN ("*.example.com") satisfy an exact matcher for one label under it.
function dnsMatch(m: StringMatcher, san: string): boolean {
  if (matchString(m, san)) return true;
  if (m.kind !== 'exact' || !san.startsWith('*.')) return false;
  const name = m.value.toLowerCase();
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot) === san.slice(1).toLowerCase();
}

export function sanMatches(matchers: SanMatcher[], sans: Sans): boolean {
  return matchers.some((m) => m.sanTypes.some((type: SanType) =>
    sans[type].some((san) => (type === 'DNS' ? dnsMatch(m.matcher, san) : matchString(m.matcher, san)))));
}

// OpenSSL's verdict on the peer's chain against the context's CAs. A client TLSSocket has it as
// `authorized`; a server TLSSocket made outside a tls.Server never sets that, so the verdict is
// asked of the TLS handle as tls.Server itself does (verifyError: null when the chain verified).
function chainError(socket: TLSSocket): string | null {
  const handle = (socket as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  if (typeof handle?.verifyError === 'function') {
    const err = handle.verifyError();
    return err === null || err === undefined ? null : String(err.code ?? err.message);
  }
  return socket.authorized ? null : String(socket.authorizationError ?? 'verify failed');
}

/** Whether getPeerCertificate() found a certificate (node gives {} or null without one). */
export function hasCertificate(cert: PeerCertificate | null | undefined): cert is PeerCertificate {
  return cert !== null && cert !== undefined && cert.raw !== undefined;
}

/**
 * The peer of a finished handshake against `validation`; `requireCertificate` fails a peer without
 * one. `cert` is the socket's getPeerCertificate(false) when the caller has read it already (node
 * converts the whole certificate on every call).
 */
export function verifyPeer(socket: TLSSocket, validation: CertificateValidation | undefined, requireCertificate: boolean, cert: PeerCertificate | null = socket.getPeerCertificate(false)): VerifyResult {
  if (!hasCertificate(cert)) {
    return requireCertificate ? { ok: false, failure: 'fail_verify_no_cert', reason: 'peer did not present a certificate' } : OK;
  }
  if (validation === undefined) return OK;
  if (validation.trustedCa !== undefined) {
    const error = chainError(socket);
    if (error !== null) return { ok: false, failure: 'fail_verify_error', reason: `CERTIFICATE_VERIFY_FAILED: ${error}` };
  }
  if (validation.spkiPins.length > 0 || validation.certHashes.length > 0) {
    const hash = createHash('sha256').update(cert.raw).digest('hex');
    const spki = cert.pubkey === undefined ? '' : createHash('sha256').update(cert.pubkey).digest('base64');
    if (!validation.certHashes.includes(hash) && !validation.spkiPins.includes(spki)) {
      return { ok: false, failure: 'fail_verify_cert_hash', reason: 'CERTIFICATE_VERIFY_FAILED: certificate hash or SPKI does not match' };
    }
  }
  if (validation.sanMatchers.length > 0 && !sanMatches(validation.sanMatchers, parseSubjectAltName(cert.subjectaltname))) {
    return { ok: false, failure: 'fail_verify_san', reason: 'CERTIFICATE_VERIFY_FAILED: no subject alternative name matches' };
  }
  return OK;
}

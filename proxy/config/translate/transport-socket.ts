// envoy.config.core.v3.TransportSocket -> the TLS context of a filter chain (DownstreamTlsContext)
// or of a cluster (UpstreamTlsContext); raw_buffer is plain TCP (no context). Certificates, keys
// and CAs are read here, at config time, and checked by building the node SecureContext they
// make: a missing file, bad PEM, a key that does not match its certificate, an unknown cipher or
// curve is a ConfigError naming the field. A private key's text never appears in a message.
// Secrets: an SdsSecretConfig without sds_config names a static secret (static_resources.secrets),
// read here like an inline certificate or validation context; with one, it is a reference the
// primary resolves (a file, ADS, or an SDS server). Fields that are not built (session tickets,
// OCSP, providers, CRLs, ...) never get here: the support table (support.ts) rejects them by name
// while the schema is checked.
import { createRequire } from 'node:module';
import { indexPath, joinPath } from '../errors.ts';
import { DOWNSTREAM_TLS_TYPE, RAW_BUFFER_TYPE, UPSTREAM_TLS_TYPE } from '../extensions.ts';
import type {
  CertificateValidation,
  DownstreamTlsContext,
  SanMatcher,
  SdsSecretRef,
  SanType,
  TlsCertificate,
  TlsContext,
  TlsVersion,
  UpstreamTlsContext,
} from '../model.ts';
import { bool, dataSourceText, list, obj, reject, str, stringMatcher, strings } from './common.ts';
import type { Raw, TranslateContext } from './common.ts';
import { secretConfigSource } from './config-source.ts';


const TLS_NAMES = ['envoy.transport_sockets.tls', 'tls'];
const RAW_NAMES = ['envoy.transport_sockets.raw_buffer', 'raw_buffer'];

const VERSIONS: Record<string, TlsVersion | undefined> = {
  TLS_AUTO: undefined,
  TLSv1_0: 'TLSv1',
  TLSv1_1: 'TLSv1.1',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};
const VERSION_ORDER: TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** A filter chain's transport_socket: its TLS context, or undefined for raw_buffer. */
// node:tls on first use (a config without TLS never loads it).
type NodeTls = typeof import('node:tls');
let tlsModule: NodeTls | undefined;
function nodeTls(): NodeTls {
  tlsModule ??= createRequire(import.meta.url)('node:tls') as NodeTls;
  return tlsModule;
}
const createSecureContext = (options: import('node:tls').SecureContextOptions) => nodeTls().createSecureContext(options);
const getCiphers = () => nodeTls().getCiphers();

export function downstreamTransportSocket(raw: Raw | undefined, path: string, ctx?: TranslateContext): DownstreamTlsContext | undefined {
  const config = tlsConfig(raw, path, DOWNSTREAM_TLS_TYPE);
  if (config === undefined) return undefined;
  const at = joinPath(path, 'typed_config');
  const common = commonTlsContext(obj(config, 'common_tls_context') ?? {}, joinPath(at, 'common_tls_context'), 'TLSv1.3', ctx);
  if (common.certificates.length === 0 && (common.sds?.certificates.length ?? 0) === 0) {
    reject(joinPath(at, 'common_tls_context.tls_certificates'), 'a TLS listener needs a certificate', 'add tls_certificates with certificate_chain and private_key, or tls_certificate_sds_secret_configs naming a static secret');
  }
  const requireClientCertificate = bool(config, 'require_client_certificate', false);
  return { ...common, requireClientCertificate };
}

/** A cluster's transport_socket: its TLS context, or undefined for raw_buffer. */
export function upstreamTransportSocket(raw: Raw | undefined, path: string, ctx?: TranslateContext): UpstreamTlsContext | undefined {
  const config = tlsConfig(raw, path, UPSTREAM_TLS_TYPE);
  if (config === undefined) return undefined;
  const at = joinPath(path, 'typed_config');
  const common = commonTlsContext(obj(config, 'common_tls_context') ?? {}, joinPath(at, 'common_tls_context'), 'TLSv1.2', ctx);
  if (common.certificates.length + (common.sds?.certificates.length ?? 0) > 1) reject(joinPath(at, 'common_tls_context.tls_certificates'), 'an upstream TLS context takes at most one client certificate', 'keep one');
  return { ...common, sni: str(config, 'sni') };
}

function tlsConfig(raw: Raw | undefined, path: string, wanted: string): Raw | undefined {
  if (raw === undefined) return undefined;
  const name = str(raw, 'name');
  const config = obj(raw, 'typed_config');
  const type = config?.['@type'] as string | undefined;
  if (type === RAW_BUFFER_TYPE || (type === undefined && RAW_NAMES.includes(name))) return undefined;
  if (type === undefined) {
    if (TLS_NAMES.includes(name)) reject(joinPath(path, 'typed_config'), `transport socket '${name}' needs a typed_config`, `set "@type": type.googleapis.com/${wanted}`);
    return reject(joinPath(path, 'name'), `transport socket '${name}' is not supported by Legate`, 'Legate secures connections with envoy.transport_sockets.tls only; raw_buffer would send this traffic in plain text');
  }
  if (type !== wanted) reject(joinPath(path, 'typed_config'), `a ${type.split('.').pop()} does not belong here`, `use ${wanted}`);
  return config;
}

function commonTlsContext(raw: Raw, path: string, defaultMax: TlsVersion, ctx: TranslateContext | undefined): TlsContext {
  const params = obj(raw, 'tls_params') ?? {};
  const paramsPath = joinPath(path, 'tls_params');
  const minVersion = VERSIONS[str(params, 'tls_minimum_protocol_version', 'TLS_AUTO')] ?? 'TLSv1.2';
  const maxVersion = VERSIONS[str(params, 'tls_maximum_protocol_version', 'TLS_AUTO')] ?? defaultMax;
  if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion)) {
    reject(joinPath(paramsPath, 'tls_minimum_protocol_version'), `the minimum version ${minVersion} is above the maximum ${maxVersion}`, 'lower the minimum or raise tls_maximum_protocol_version');
  }
  const cipherSuites = ciphers(strings(params, 'cipher_suites'), joinPath(paramsPath, 'cipher_suites'));
  const ecdhCurves = curves(strings(params, 'ecdh_curves'), joinPath(paramsPath, 'ecdh_curves'));

  const certsPath = joinPath(path, 'tls_certificates');
  const sdsCertsPath = joinPath(path, 'tls_certificate_sds_secret_configs');
  const sdsCerts = list(raw, 'tls_certificate_sds_secret_configs');
  if (sdsCerts.length > 0 && list(raw, 'tls_certificates').length > 0) {
    reject(sdsCertsPath, 'tls_certificates and tls_certificate_sds_secret_configs are both set (Envoy takes one)', 'keep one of them');
  }
  const certificates = list(raw, 'tls_certificates').map((c, i) => tlsCertificate(c, indexPath(certsPath, i)));
  const sdsRefs: SdsSecretRef[] = [];
  sdsCerts.forEach((ref, i) => {
    const at = indexPath(sdsCertsPath, i);
    const file = sdsRef(ref, at);
    if (file !== undefined) {
      sdsRefs.push(file);
      return;
    }
    const secret = staticSecret(ref, at, 'tls_certificate', ctx);
    certificates.push(tlsCertificate(secret.raw, secret.path));
  });

  // validation_context, validation_context_sds_secret_config and combined_validation_context are a
  // oneof (the schema check). Combined: the SDS context is merged into the default one once it
  // arrives (the primary does it), so SAN matchers may wait there for the CA.
  let validation: CertificateValidation | undefined;
  let validationRef: SdsSecretRef | undefined;
  let combined = false;
  const direct = obj(raw, 'validation_context');
  if (direct !== undefined) validation = validationContext(direct, joinPath(path, 'validation_context'));
  let sdsValidation = obj(raw, 'validation_context_sds_secret_config');
  let sdsValidationPath = joinPath(path, 'validation_context_sds_secret_config');
  const combinedRaw = obj(raw, 'combined_validation_context');
  if (combinedRaw !== undefined) {
    const combinedPath = joinPath(path, 'combined_validation_context');
    combined = true;
    validation = validationContext(obj(combinedRaw, 'default_validation_context') ?? {}, joinPath(combinedPath, 'default_validation_context'), true);
    sdsValidation = obj(combinedRaw, 'validation_context_sds_secret_config');
    sdsValidationPath = joinPath(combinedPath, 'validation_context_sds_secret_config');
    if (sdsValidation === undefined) reject(sdsValidationPath, 'required field is missing', 'name the secret holding the trusted CA');
  }
  if (sdsValidation !== undefined) {
    validationRef = sdsRef(sdsValidation, sdsValidationPath);
    if (validationRef === undefined) {
      const secret = staticSecret(sdsValidation, sdsValidationPath, 'validation_context', ctx);
      const found = validationContext(secret.raw, secret.path);
      validation = combined && validation !== undefined ? mergeValidation(validation, found) : found;
      if (combined && validation.sanMatchers.length > 0 && validation.trustedCa === undefined) {
        reject(joinPath(secret.path, 'trusted_ca'), 'SAN verification without a trusted CA is insecure (Envoy refuses it too)', 'give the secret a trusted_ca');
      }
      combined = false;
    }
  }

  const context: TlsContext = { certificates, minVersion, maxVersion, cipherSuites, ecdhCurves, alpnProtocols: strings(raw, 'alpn_protocols') };
  if (validation !== undefined) context.validation = validation;
  if (sdsRefs.length > 0 || validationRef !== undefined) {
    context.sds = { certificates: sdsRefs };
    if (validationRef !== undefined) context.sds.validation = validationRef;
    if (combined) context.sds.combined = true;
  }
  // The whole context once more, as the runtime builds it (catches what a part alone cannot).
  checkSecureContext(context, path);
  return context;
}

// An SdsSecretConfig with an sds_config: SDS from a file (path_config_source), over ADS (ads or
// self) or from an SDS server (api_config_source) is a reference the primary resolves. Without
// sds_config: undefined (a static secret).
function sdsRef(ref: Raw, path: string): SdsSecretRef | undefined {
  const source = obj(ref, 'sds_config');
  if (source === undefined) return undefined;
  const name = str(ref, 'name');
  if (name === '') reject(joinPath(path, 'name'), 'required field is missing', 'name the secret the SDS source holds');
  const at = secretConfigSource(source, joinPath(path, 'sds_config'));
  if ('grpcService' in at) return { name, server: at };
  if (at.kind !== 'path') return { name };
  const file: SdsSecretRef = { name, path: at.path };
  if (at.watchedDirectory !== undefined) file.watchedDirectory = at.watchedDirectory;
  return file;
}

// The part of a static secret an SdsSecretConfig asks for; errors name the reference, then the
// secret's own fields by their static_resources.secrets path.
function staticSecret(ref: Raw, path: string, part: 'tls_certificate' | 'validation_context', ctx: TranslateContext | undefined): { raw: Raw; path: string } {
  const name = str(ref, 'name');
  if (name === '') reject(joinPath(path, 'name'), 'required field is missing', 'name a secret of static_resources.secrets');
  const secrets = ctx?.secrets;
  if (secrets === undefined) {
    return reject(joinPath(path, 'name'), `secret '${name}' without sds_config names a static secret, and xDS resources cannot see static_resources.secrets when translated without their bootstrap`, 'translate it with the bootstrap\'s static secrets (as the primary does), or give an sds_config');
  }
  const secret = secrets.get(name);
  if (secret === undefined) {
    const known = [...secrets.keys()].slice(0, 10).join(', ');
    return reject(joinPath(path, 'name'), `unknown secret '${name}'`, `define it in static_resources.secrets${known === '' ? '' : ` (defined: ${known})`}`);
  }
  const body = obj(secret.raw, part);
  if (body === undefined) return reject(joinPath(path, 'name'), `secret '${name}' has no ${part}`, `give secret '${name}' a ${part}, or name another secret`);
  return { raw: body, path: joinPath(secret.path, part) };
}

export function tlsCertificate(raw: Raw, path: string): TlsCertificate {
  const chainRaw = obj(raw, 'certificate_chain');
  const keyRaw = obj(raw, 'private_key');
  if (chainRaw === undefined) reject(joinPath(path, 'certificate_chain'), 'required field is missing', 'set certificate_chain (filename or inline_string)');
  if (keyRaw === undefined) reject(joinPath(path, 'private_key'), 'required field is missing', 'set private_key (filename or inline_string)');
  const certificateChain = dataSourceText(chainRaw, joinPath(path, 'certificate_chain'));
  const privateKey = dataSourceText(keyRaw, joinPath(path, 'private_key'));
  const source = chainRaw.filename !== undefined ? str(chainRaw, 'filename') : 'inline';
  try {
    createSecureContext({ cert: certificateChain });
  } catch (err) {
    reject(joinPath(path, 'certificate_chain'), `cannot load the certificate from ${source}: ${opensslReason(err)}`, 'give a PEM certificate chain (-----BEGIN CERTIFICATE-----)');
  }
  try {
    createSecureContext({ key: privateKey });
  } catch (err) {
    const keySource = keyRaw.filename !== undefined ? str(keyRaw, 'filename') : 'inline';
    reject(joinPath(path, 'private_key'), `cannot load the private key from ${keySource}: ${opensslReason(err)}`, 'give an unencrypted PEM private key');
  }
  try {
    createSecureContext({ cert: certificateChain, key: privateKey });
  } catch (err) {
    reject(joinPath(path, 'private_key'), `the private key does not match the certificate from ${source} (${opensslReason(err)})`, 'give the key the certificate was issued for');
  }
  return { certificateChain, privateKey, source };
}

const SAN_TYPES: SanType[] = ['DNS', 'URI', 'IP_ADDRESS', 'EMAIL'];

/**
 * A CertificateValidationContext. `partial`: the default part of a combined context, whose trusted
 * CA may come with the SDS part (checked once they are merged).
 */
export function validationContext(raw: Raw, path: string, partial = false): CertificateValidation {
  const validation: CertificateValidation = { sanMatchers: [], spkiPins: [], certHashes: [] };
  const caRaw = obj(raw, 'trusted_ca');
  if (caRaw !== undefined) {
    const caPath = joinPath(path, 'trusted_ca');
    const ca = dataSourceText(caRaw, caPath);
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) reject(caPath, 'no PEM certificate in trusted_ca', 'give a PEM CA bundle (-----BEGIN CERTIFICATE-----)');
    try {
      createSecureContext({ ca });
    } catch (err) {
      reject(caPath, `cannot load the CA certificates: ${opensslReason(err)}`, 'give a PEM CA bundle');
    }
    validation.trustedCa = ca;
    validation.trustedCaSource = caRaw.filename !== undefined ? str(caRaw, 'filename') : 'inline';
  }
  const typedPath = joinPath(path, 'match_typed_subject_alt_names');
  list(raw, 'match_typed_subject_alt_names').forEach((m, i) => {
    const at = indexPath(typedPath, i);
    const sanType = str(m, 'san_type') as SanType | 'OTHER_NAME';
    if (sanType === 'OTHER_NAME') reject(joinPath(at, 'san_type'), 'OTHER_NAME SANs are not supported by Legate', 'use DNS, URI, IP_ADDRESS or EMAIL');
    validation.sanMatchers.push({ sanTypes: [sanType], matcher: stringMatcher(obj(m, 'matcher') ?? {}, joinPath(at, 'matcher')) });
  });
  const legacyPath = joinPath(path, 'match_subject_alt_names');
  list(raw, 'match_subject_alt_names').forEach((m, i) => {
    const matcher: SanMatcher = { sanTypes: SAN_TYPES, matcher: stringMatcher(m, indexPath(legacyPath, i)) };
    validation.sanMatchers.push(matcher);
  });
  if (!partial && validation.sanMatchers.length > 0 && validation.trustedCa === undefined) {
    reject(joinPath(path, 'trusted_ca'), 'SAN verification without a trusted CA is insecure (Envoy refuses it too)', 'set trusted_ca');
  }
  strings(raw, 'verify_certificate_spki').forEach((pin, i) => {
    const bytes = Buffer.from(pin, 'base64');
    if (bytes.length !== 32 || bytes.toString('base64') !== pin) reject(indexPath(joinPath(path, 'verify_certificate_spki'), i), `'${pin}' is not a base64 SHA-256 hash`, 'give the base64 SHA-256 of the SubjectPublicKeyInfo');
    validation.spkiPins.push(pin);
  });
  strings(raw, 'verify_certificate_hash').forEach((hash, i) => {
    const hex = hash.replace(/:/g, '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) reject(indexPath(joinPath(path, 'verify_certificate_hash'), i), `'${hash}' is not a hex SHA-256 hash`, 'give the hex SHA-256 of the DER certificate (colons allowed)');
    validation.certHashes.push(hex);
  });
  return validation;
}

/**
 * combined_validation_context: the SDS part merged into the default part, as protobuf's MergeFrom
 * does in Envoy (a CA the SDS part sets wins; lists are joined, the default's first).
 */
export function mergeValidation(defaults: CertificateValidation, dynamic: CertificateValidation): CertificateValidation {
  const merged: CertificateValidation = {
    sanMatchers: [...defaults.sanMatchers, ...dynamic.sanMatchers],
    spkiPins: [...defaults.spkiPins, ...dynamic.spkiPins],
    certHashes: [...defaults.certHashes, ...dynamic.certHashes],
  };
  const ca = dynamic.trustedCa !== undefined ? dynamic : defaults;
  if (ca.trustedCa !== undefined) merged.trustedCa = ca.trustedCa;
  if (ca.trustedCaSource !== undefined) merged.trustedCaSource = ca.trustedCaSource;
  return merged;
}

// Envoy's default lists group ciphers of equal preference as [A|B]; OpenSSL has no such groups,
// so a group is taken in its written order.
function ciphers(given: string[], path: string): string[] {
  const known = new Set(getCiphers());
  const out: string[] = [];
  given.forEach((entry, i) => {
    for (const name of entry.replace(/^\[|\]$/g, '').split('|')) {
      if (!known.has(name.toLowerCase())) reject(indexPath(path, i), `unknown cipher suite '${name}'`, 'use an OpenSSL cipher name such as ECDHE-RSA-AES128-GCM-SHA256 (see `openssl ciphers`)');
      out.push(name);
    }
  });
  return out;
}

function curves(given: string[], path: string): string[] {
  given.forEach((curve, i) => {
    try {
      createSecureContext({ ecdhCurve: curve });
    } catch {
      reject(indexPath(path, i), `unknown ECDH curve '${curve}'`, 'use X25519, P-256 or P-384');
    }
  });
  return given;
}

function checkSecureContext(context: TlsContext, path: string): void {
  const certificate = context.certificates[0];
  try {
    createSecureContext({
      minVersion: context.minVersion,
      maxVersion: context.maxVersion,
      ...(context.cipherSuites.length > 0 ? { ciphers: context.cipherSuites.join(':') } : {}),
      ...(context.ecdhCurves.length > 0 ? { ecdhCurve: context.ecdhCurves.join(':') } : {}),
      ...(certificate !== undefined ? { cert: certificate.certificateChain, key: certificate.privateKey } : {}),
      ...(context.validation?.trustedCa !== undefined ? { ca: context.validation.trustedCa } : {}),
    });
  } catch (err) {
    reject(joinPath(path, 'tls_params'), `node cannot build this TLS context: ${opensslReason(err)}`, 'check tls_params against the certificates');
  }
}

// OpenSSL's reason without the error-queue noise, e.g. "key values mismatch" or "no start line".
function opensslReason(err: unknown): string {
  const e = err as { reason?: string; message?: string };
  const text = e.reason ?? e.message ?? String(err);
  return text.replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/i, '').replace(/\s+/g, ' ').trim();
}

// GET /certs: the certificates of every TLS context in the current snapshot, in Envoy's shape
// (envoy.admin.v3.Certificates): one entry per context (listener filter chains, then clusters),
// `ca_cert` the validation context's trusted CA, `cert_chain` the leaf of each configured
// certificate. Only public certificate facts: a private key never leaves the model.
import { X509Certificate } from 'node:crypto';
import type { TlsContext } from '../../config/model.ts';
import { json, type AdminHandler } from '../context.ts';

interface CertificateDetails {
  path: string;
  serial_number: string;
  subject_alt_names: Record<string, string>[];
  days_until_expiration: string; // uint64: a string in proto JSON, as Envoy prints it
  valid_from: string;
  expiration_time: string;
}

const DAY_MS = 86_400_000;

export const certs: AdminHandler = (ctx) => {
  const contexts: TlsContext[] = [];
  for (const listener of ctx.snapshot.listeners) {
    for (const chain of [...listener.filterChains, ...(listener.defaultFilterChain !== undefined ? [listener.defaultFilterChain] : [])]) {
      if (chain.tls !== undefined) contexts.push(chain.tls);
    }
  }
  for (const cluster of ctx.snapshot.clusters) if (cluster.tls !== undefined) contexts.push(cluster.tls);
  const now = Date.now();
  return json({
    certificates: contexts.map((context) => {
      const ca = context.validation?.trustedCa;
      const caPem = ca === undefined ? undefined : firstPem(ca);
      return {
        ca_cert: caPem === undefined ? [] : [details(caPem, envoyPath(context.validation?.trustedCaSource), now)],
        cert_chain: context.certificates.flatMap((c) => {
          const leaf = firstPem(c.certificateChain);
          return leaf === undefined ? [] : [details(leaf, envoyPath(c.source), now)];
        }),
      };
    }),
  });
};

// Envoy names inline data '<inline>'.
function envoyPath(source: string | undefined): string {
  return source === undefined || source === 'inline' ? '<inline>' : source;
}

function firstPem(bundle: string): string | undefined {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(bundle);
  return m === null ? undefined : m[0];
}

function details(pem: string, path: string, now: number): CertificateDetails {
  const cert = new X509Certificate(pem);
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  return {
    path,
    serial_number: cert.serialNumber.toLowerCase(),
    subject_alt_names: subjectAltNames(cert.subjectAltName),
    days_until_expiration: String(Math.max(0, Math.floor((to.getTime() - now) / DAY_MS))),
    valid_from: rfc3339(from),
    expiration_time: rfc3339(to),
  };
}

// Envoy lists DNS, URI and IP SANs ({dns}, {uri}, {ip_address}); node writes 'DNS:a, URI:b'.
function subjectAltNames(text: string | undefined): Record<string, string>[] {
  if (text === undefined) return [];
  const out: Record<string, string>[] = [];
  for (const m of text.matchAll(/(DNS|URI|IP Address):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    const value = m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2];
    out.push({ [m[1] === 'DNS' ? 'dns' : m[1] === 'URI' ? 'uri' : 'ip_address']: value });
  }
  return out;
}

// Timestamps as proto JSON writes them: seconds precision, Z.
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

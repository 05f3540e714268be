// The TLS scenarios' server certificate: made once per bench run in the run's work dir with the
// openssl CLI, self-signed, ECDSA P-256, for localhost and 127.0.0.1. Every TLS target (Legate,
// nginx, HAProxy) serves this same certificate; the load generators do not verify it (wrk never
// does, autocannon connects with rejectUnauthorized: false).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const TLS_KEY_TYPE = 'ECDSA P-256';

export interface BenchCertificate {
  certFile: string;
  keyFile: string;
  /** Certificate and key in one PEM file, as HAProxy's `crt` takes them. */
  combinedFile: string;
}

/** Where the certificate files of a run with this work dir are (whether made yet or not). */
export function benchCertificateFiles(workDir: string): BenchCertificate {
  return {
    certFile: path.join(workDir, 'tls-cert.pem'),
    keyFile: path.join(workDir, 'tls-key.pem'),
    combinedFile: path.join(workDir, 'tls-cert-key.pem'),
  };
}

/** Why no certificate can be made here (no openssl), or undefined. */
export function opensslUnavailable(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'openssl not installed: the TLS scenarios need it to make their certificate';
  }
}

/** Make the run's certificate and key in workDir (once per run). */
export function makeBenchCertificate(workDir: string): BenchCertificate {
  const files = benchCertificateFiles(workDir);
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout', files.keyFile, '-out', files.certFile,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl could not make the TLS scenarios' certificate: ${stderr || String(error)}`);
  }
  fs.writeFileSync(files.combinedFile, fs.readFileSync(files.certFile, 'utf8') + fs.readFileSync(files.keyFile, 'utf8'), { mode: 0o600 });
  return files;
}

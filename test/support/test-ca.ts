// A test certificate authority made with the openssl CLI: a CA and leaf certificates it signs,
// with the SANs a test asks for (DNS:, URI:, IP:, email:), written to a temporary directory so
// configs can name them by `filename`. P-256 keys, valid two days.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LeafCert {
  cert: string; // PEM
  key: string; // PEM
  certFile: string;
  keyFile: string;
}

export interface TestCa {
  dir: string;
  cert: string; // the CA's PEM
  certFile: string;
  /** A leaf signed by this CA. `sans` are openssl subjectAltName entries, e.g. 'DNS:a.test', 'URI:spiffe://x'. */
  issue(name: string, sans: string[]): LeafCert;
  remove(): void;
}

/** Why certificate tests cannot run here, or false. */
export function opensslMissing(): string | false {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'needs the openssl binary to make test certificates';
  }
}

export function createTestCa(commonName = 'Legate Test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'legate-ca-'));
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.pem');
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${commonName}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', caKey, '-out', caCert,
  ]);
  let serial = 1;
  return {
    dir,
    cert: readFileSync(caCert, 'utf8'),
    certFile: caCert,
    issue(name, sans) {
      const base = join(dir, `${name}-${serial}`);
      const keyFile = `${base}.key`;
      const csr = `${base}.csr`;
      const certFile = `${base}.pem`;
      const ext = `${base}.ext`;
      writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n${sans.length > 0 ? `subjectAltName=${sans.join(',')}\n` : ''}`);
      openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/O=Legate Tests/CN=${name}`, '-keyout', keyFile, '-out', csr]);
      openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-set_serial', String(1000 + serial++), '-days', '2', '-extfile', ext, '-out', certFile]);
      return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Template values every peer config shares: where to listen, where the upstreams are, the split.
import { SPLIT_WEIGHTS, type Scenario } from '../scenarios.ts';
import type { Upstream } from '../targets/types.ts';
import { VHOST_COUNTS } from './vhosts.ts';
import { benchCertificateFiles } from '../tls-cert.ts';

export function peerValues(
  upstream: Upstream,
  scenario: Scenario,
  listenPort: number,
  workDir: string,
): Record<string, string | number> {
  const [a, b, c] = upstream.http;
  const tls = benchCertificateFiles(workDir);
  return {
    listen_port: listenPort,
    work_dir: workDir,
    upstream_port: scenario.protocol === 'tcp' ? upstream.tcp : a,
    upstream_port_a: a,
    upstream_port_b: b ?? a,
    upstream_port_c: c ?? a,
    weight_a: SPLIT_WEIGHTS[0],
    weight_b: SPLIT_WEIGHTS[1],
    weight_c: SPLIT_WEIGHTS[2],
    // The TLS scenarios' certificate, made once per run in the work dir (tls-cert.ts).
    tls_cert_file: tls.certFile,
    tls_key_file: tls.keyFile,
    tls_cert_key_file: tls.combinedFile,
    ...VHOST_COUNTS,
  };
}

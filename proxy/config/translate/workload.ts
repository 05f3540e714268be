// istio.workload.Workload, a resource of Istio's workload discovery (the metadata_discovery
// bootstrap extension), -> the workload the peer metadata readers find by address. Converted as
// Istio's proxy does: the namespace, service account and trust domain istiod elides when they are
// Kubernetes' defaults are put back for the identity (spiffe://<trust domain>/ns/<ns>/sa/<account>),
// and the app and version are the canonical name and revision.
import { SocketAddress } from 'node:net';
import { indexPath, joinPath } from '../errors.ts';
import type { IstioWorkload, WorkloadMetadata } from '../model.ts';
import { reject, str, strings, type Raw } from './common.ts';

const WORKLOAD_TYPES: Record<string, WorkloadMetadata['workloadType']> = { DEPLOYMENT: 'deployment', CRONJOB: 'cronjob', POD: 'pod', JOB: 'job' };

export function translateWorkload(raw: Raw, path = ''): IstioWorkload {
  const namespace = str(raw, 'namespace') || 'default';
  const canonicalName = str(raw, 'canonical_name');
  const canonicalRevision = str(raw, 'canonical_revision');
  const identity = `spiffe://${str(raw, 'trust_domain') || 'cluster.local'}/ns/${namespace}/sa/${str(raw, 'service_account') || 'default'}`;
  return {
    uid: str(raw, 'uid'),
    addresses: strings(raw, 'addresses').map((bytes, i) => ipText(bytes, indexPath(joinPath(path, 'addresses'), i))),
    metadata: {
      instance: str(raw, 'name'),
      cluster: str(raw, 'cluster_id'),
      namespace,
      workload: str(raw, 'workload_name'),
      canonicalName,
      canonicalRevision,
      app: canonicalName,
      version: canonicalRevision,
      // Unset or a value this proto does not name: Istio's proxy takes it as a deployment.
      workloadType: WORKLOAD_TYPES[str(raw, 'workload_type')] ?? 'deployment',
      labels: [],
      identity,
    },
  };
}

// An address as bytes (base64 in proto3 JSON) -> its text as Node reports a socket's address, so
// that a lookup by a connection's address is a plain map read.
function ipText(base64: string, path: string): string {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length !== 16) reject(path, `an address of ${bytes.length} bytes is neither IPv4 nor IPv6`, 'send 4 or 16 bytes');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

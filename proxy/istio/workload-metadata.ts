// Istio's workload metadata: who a peer is (workload, namespace, canonical service and revision,
// app and version labels, cluster), read from a proxy's node metadata as pilot-agent writes it
// (NAME, NAMESPACE, WORKLOAD_NAME, CLUSTER_ID, OWNER, LABELS; IDENTITY when known) and exchanged
// between sidecars in x-envoy-peer-metadata as that Struct, base64 of its binary form. Field
// names are Istio's.
import type { WorkloadMetadata } from '../config/model.ts';
import { decodeStruct, encodeStruct, type StructValue } from './struct-codec.ts';

export type { WorkloadMetadata };
export type WorkloadType = NonNullable<WorkloadMetadata['workloadType']>;

const OWNER_PREFIX = 'kubernetes://apis/apps/v1/namespaces/';
const WORKLOAD_TYPES = new Set<string>(['pod', 'deployment', 'job', 'cronjob']);
const CANONICAL_NAME = 'service.istio.io/canonical-name';
const CANONICAL_REVISION = 'service.istio.io/canonical-revision';

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

// The workload type from an owner such as kubernetes://apis/apps/v1/namespaces/ns/deployments/name.
function parseOwner(owner: string, workload: string): WorkloadType | undefined {
  if (owner.length <= workload.length + 2) return undefined;
  const head = owner.slice(0, owner.length - workload.length - 2);
  const type = head.slice(head.lastIndexOf('/') + 1);
  return WORKLOAD_TYPES.has(type) ? (type as WorkloadType) : undefined;
}

/** Istio's convertStructToWorkloadMetadata: node metadata, or a peer's exchanged Struct. */
export function workloadFromStruct(meta: Record<string, unknown>, additionalLabels: ReadonlySet<string>): WorkloadMetadata {
  const labels = (meta.LABELS !== null && typeof meta.LABELS === 'object' ? meta.LABELS : {}) as Record<string, unknown>;
  const workload = text(meta.WORKLOAD_NAME);
  return {
    instance: text(meta.NAME),
    cluster: text(meta.CLUSTER_ID),
    namespace: text(meta.NAMESPACE),
    workload,
    canonicalName: text(labels[CANONICAL_NAME]),
    canonicalRevision: text(labels[CANONICAL_REVISION]),
    app: text(labels.app),
    version: text(labels.version),
    workloadType: parseOwner(text(meta.OWNER), workload),
    labels: [...additionalLabels].filter((l) => typeof labels[l] === 'string').map((l) => [l, labels[l] as string]),
    identity: text(meta.IDENTITY),
  };
}

/** Istio's convertWorkloadMetadataToStruct: what a sidecar says about itself. */
export function workloadToStruct(w: WorkloadMetadata): StructValue {
  const out: StructValue = {};
  if (w.instance !== '') out.NAME = w.instance;
  if (w.namespace !== '') out.NAMESPACE = w.namespace;
  if (w.workload !== '') out.WORKLOAD_NAME = w.workload;
  if (w.cluster !== '') out.CLUSTER_ID = w.cluster;
  if (w.identity !== '') out.IDENTITY = w.identity;
  const labels: StructValue = {};
  if (w.canonicalName !== '') labels[CANONICAL_NAME] = w.canonicalName;
  if (w.canonicalRevision !== '') labels[CANONICAL_REVISION] = w.canonicalRevision;
  if (w.app !== '') labels.app = w.app;
  if (w.version !== '') labels.version = w.version;
  for (const [k, v] of w.labels) labels[k] = v;
  out.LABELS = labels;
  if (w.workloadType !== undefined) out.OWNER = `${OWNER_PREFIX}${w.namespace}/${w.workloadType}s/${w.workload}`;
  return out;
}

/** The x-envoy-peer-metadata value for a workload. */
export function encodePeerHeader(w: WorkloadMetadata): string {
  return encodeStruct(workloadToStruct(w)).toString('base64');
}

/** A peer from its x-envoy-peer-metadata value; undefined when it is not a Struct. */
export function decodePeerHeader(value: string, additionalLabels: ReadonlySet<string>): WorkloadMetadata | undefined {
  try {
    return workloadFromStruct(decodeStruct(Buffer.from(value, 'base64')), additionalLabels);
  } catch {
    return undefined;
  }
}

// Istio's peer metadata as W3C baggage (istio/proxy's WorkloadMetadataObject::fromBaggage): the
// comma-separated key=value members older waypoints' connect_baggage reads off a CONNECT. Only
// Istio's keys count; a pod or job names the instance and the workload, a deployment or cronjob
// the workload only, and the last of these keys sets the workload type (pod when none is given).
import type { WorkloadMetadata, WorkloadType } from './workload-metadata.ts';

const WORKLOAD_KEYS: Record<string, { type: WorkloadType; instance: boolean }> = {
  'k8s.pod.name': { type: 'pod', instance: true },
  'k8s.deployment.name': { type: 'deployment', instance: false },
  'k8s.job.name': { type: 'job', instance: true },
  'k8s.cronjob.name': { type: 'cronjob', instance: false },
};

export function workloadFromBaggage(value: string): WorkloadMetadata {
  const peer: WorkloadMetadata = { instance: '', cluster: '', namespace: '', workload: '', canonicalName: '', canonicalRevision: '', app: '', version: '', workloadType: 'pod', labels: [], identity: '' };
  for (const member of value.split(',')) {
    const eq = member.indexOf('=');
    const key = eq === -1 ? member : member.slice(0, eq);
    // Istio keeps what follows the first '=' up to a second one.
    const rest = eq === -1 ? '' : member.slice(eq + 1);
    const second = rest.indexOf('=');
    const val = second === -1 ? rest : rest.slice(0, second);
    switch (key) {
      case 'k8s.namespace.name': peer.namespace = val; break;
      case 'k8s.cluster.name': peer.cluster = val; break;
      case 'service.name': peer.canonicalName = val; break;
      case 'service.version': peer.canonicalRevision = val; break;
      case 'app.name': peer.app = val; break;
      case 'app.version': peer.version = val; break;
      default: {
        const workload = WORKLOAD_KEYS[key];
        if (workload === undefined) break;
        peer.workloadType = workload.type;
        peer.workload = val;
        if (workload.instance) peer.instance = val;
      }
    }
  }
  return peer;
}

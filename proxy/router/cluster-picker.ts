// Which cluster a route action forwards to. A pick returns a choice built at compile time
// (cluster_header excepted: its name comes with each request).
import type { ClusterSpecifier, WeightedCluster } from '../config/model.ts';
import type { RouteRequest } from './request.ts';

export interface ClusterChoice {
  readonly name: string; // '' when cluster_header names no cluster: the router answers no cluster (NC)
  readonly weighted?: WeightedCluster;
}

export type ClusterPicker = (req: RouteRequest) => ClusterChoice;

export function compileClusterPicker(spec: ClusterSpecifier): ClusterPicker {
  switch (spec.kind) {
    case 'cluster': {
      const choice: ClusterChoice = { name: spec.name };
      return () => choice;
    }
    case 'cluster_header': {
      const { header } = spec;
      // Envoy takes the header's first value
      return (req) => {
        const raw = req.headers[header];
        return { name: (Array.isArray(raw) ? raw[0] : raw) ?? '' };
      };
    }
    case 'weighted_clusters':
      return compileWeightedPicker(spec.clusters);
  }
}

// Envoy draws an integer in [0, total weight) and walks the clusters' cumulative weights; a
// binary search over the running sums finds the same cluster in O(log n).
function compileWeightedPicker(clusters: readonly WeightedCluster[]): ClusterPicker {
  const choices = clusters.map((weighted): ClusterChoice => ({ name: weighted.name, weighted }));
  const runningSums: number[] = [];
  let total = 0;
  for (const weighted of clusters) runningSums.push((total += weighted.weight));
  if (total <= 0) throw new Error(`weighted_clusters ${clusters.map((c) => c.name).join(', ')}: total weight is 0`);
  return () => {
    const draw = Math.floor(Math.random() * total);
    // the first cluster whose running sum exceeds the draw (a zero-weight cluster never is)
    let low = 0;
    let high = runningSums.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (runningSums[middle] > draw) high = middle;
      else low = middle + 1;
    }
    return choices[low];
  };
}

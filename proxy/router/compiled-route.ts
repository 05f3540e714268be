// One route, compiled: its match predicate, path rewrite, cluster choice, redirect Location, hash
// policy and header mutation chains. Everything is built here, once per snapshot.
import type { Route, WeightedCluster } from '../config/model.ts';
import { compileClusterPicker } from './cluster-picker.ts';
import type { ClusterChoice, ClusterPicker } from './cluster-picker.ts';
import { compileHeaderMutationLevel, HeaderMutator } from './header-mutation.ts';
import type { HeaderMutationLevel, ValueCompiler } from './header-mutation.ts';
import { HashPolicyEvaluator } from './hash-policy.ts';
import type { DownstreamConnection, HashResult } from './hash-policy.ts';
import { compilePathRewrite } from './path-rewrite.ts';
import type { PathRewriter } from './path-rewrite.ts';
import { compileRedirect } from './redirect.ts';
import { compileRouteMatch } from './route-match.ts';
import type { RouteMatcher } from './route-match.ts';
import type { RouteRequest } from './request.ts';

export class CompiledRoute<C = unknown> {
  readonly model: Route;
  readonly matches: RouteMatcher;
  private readonly routeMutations: HeaderMutator<C>; // route -> virtual host -> route config
  private readonly weightedMutations = new Map<WeightedCluster, HeaderMutator<C>>();
  private readonly hashPolicy: HashPolicyEvaluator | undefined;
  private readonly rewriter: PathRewriter | undefined;
  private readonly picker: ClusterPicker | undefined;
  private readonly location: ((req: RouteRequest) => string) | undefined;

  // enclosingLevels: the virtual host's and the route config's header mutations, in that order
  constructor(route: Route, enclosingLevels: readonly HeaderMutationLevel<C>[], compileValue: ValueCompiler<C>) {
    this.model = route;
    this.matches = compileRouteMatch(route.match);
    const levels = [compileHeaderMutationLevel(route.mutations, compileValue), ...enclosingLevels];
    this.routeMutations = new HeaderMutator(levels);
    const { action } = route;
    if (action.kind === 'route') {
      this.picker = compileClusterPicker(action.cluster);
      if (action.cluster.kind === 'weighted_clusters') {
        for (const weighted of action.cluster.clusters) {
          const level = compileHeaderMutationLevel(weighted.mutations, compileValue);
          this.weightedMutations.set(weighted, new HeaderMutator([level, ...levels]));
        }
      }
      this.rewriter = compilePathRewrite(route.match.path, action.prefixRewrite, action.regexRewrite);
      this.hashPolicy = action.hashPolicy.length > 0 ? new HashPolicyEvaluator(action.hashPolicy) : undefined;
    } else if (action.kind === 'redirect') {
      this.location = compileRedirect(action, route.match.path);
    }
  }

  get name(): string {
    return this.model.name;
  }

  // The path to send upstream (prefix_rewrite / regex_rewrite); unchanged when the route has none.
  // Pass the path the route matched.
  rewritePath(path: string): string {
    return this.rewriter === undefined ? path : this.rewriter(path);
  }

  pickCluster(req: RouteRequest): ClusterChoice {
    if (this.picker === undefined) throw new Error(`route ${this.model.name} does not forward to a cluster`);
    return this.picker(req);
  }

  // The header mutations for a request on this route: the picked weighted cluster's (if any),
  // then the route's, the virtual host's and the route config's.
  mutations(weighted?: WeightedCluster): HeaderMutator<C> {
    return (weighted === undefined ? undefined : this.weightedMutations.get(weighted)) ?? this.routeMutations;
  }

  // The hash_policy's hash for a ring hash or maglev balancer; undefined when the route has no
  // hash policy or none of its policies applies to this request.
  hash(req: RouteRequest, connection: DownstreamConnection): HashResult | undefined {
    return this.hashPolicy?.generateHash(req, connection);
  }

  redirectLocation(req: RouteRequest): string {
    if (this.location === undefined) throw new Error(`route ${this.model.name} is not a redirect`);
    return this.location(req);
  }
}

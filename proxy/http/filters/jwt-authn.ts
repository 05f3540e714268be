// envoy.filters.http.jwt_authn: verifies the JSON Web Tokens a request carries against the
// requirement of the first matching rule, or of the route's PerRouteConfig (requirement_name from
// requirement_map, or disabled). A refusal is Envoy's local reply: 401 with the reason as body and
// `www-authenticate: Bearer realm="<original URL>"` (plus `, error="invalid_token"` unless the token
// was missing), 403 for audiences not allowed, details jwt_authn_access_denied{<reason>}, no
// response flag. Stats, as Envoy's: http.<stat_prefix>.jwt_authn.{allowed,denied,
// cors_preflight_bypassed,jwks_fetch_success,jwks_fetch_failed,jwt_cache_hit,jwt_cache_miss}.
// Providers' payload_in_metadata, header_in_metadata and failed_status_in_metadata fill the
// envoy.filters.http.jwt_authn dynamic metadata, which Istio's RBAC principals match.
// The parts are in jwt-authn/ (see its README).
import type { FilterStatus } from '../../http-filter/index.ts';
import type { JwtAuthnConfig, JwtAuthnPerRouteConfig } from '../../config/model.ts';
import { compileRouteMatch, pathEnd, type RouteRequest } from '../../router/index.ts';
import type { Counter } from '../../stats/index.ts';
import { refreshRoute } from '../route-refresh.ts';
import type { HttpStream } from '../stream.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';
import { Extractor } from './jwt-authn/extractor.ts';
import { audienceCheck } from './jwt-authn/jwt.ts';
import { ProviderKeys } from './jwt-authn/provider-keys.ts';
import { JwtStatus } from './jwt-authn/status.ts';
import { createVerifier, type Provider, type Verifier, type VerifyContext } from './jwt-authn/verifier.ts';
import { isDisabled, perRouteConfig } from './per-route-config.ts';
import { setDynamicMetadata } from './dynamic-metadata.ts';

/** The namespace of the filter's dynamic metadata (Envoy's well-known filter name, whatever the filter is called). */
const JWT_AUTHN_METADATA = 'envoy.filters.http.jwt_authn';

/** Envoy cuts the path in the realm's URL to this length. */
const MAX_REALM_PATH = 256;

interface Rule {
  matches: ReturnType<typeof compileRouteMatch>;
  verifier: Verifier | undefined;
}

export class JwtAuthnFilter implements HttpFilterInstance {
  private readonly name: string;
  private readonly config: JwtAuthnConfig;
  private readonly routeTable: FilterContext['routeTable'];
  private readonly rules: Rule[];
  private readonly byName = new Map<string, Verifier | undefined>();
  private readonly allowed: Counter;
  private readonly denied: Counter;
  private readonly corsPreflightBypassed: Counter;

  constructor(config: JwtAuthnConfig, ctx: FilterContext, name: string) {
    this.name = name;
    this.config = config;
    this.routeTable = ctx.routeTable;
    const counter = (stat: string) => ctx.store.counter(`http.${ctx.statPrefix}.jwt_authn.${stat}`);
    this.allowed = counter('allowed');
    this.denied = counter('denied');
    this.corsPreflightBypassed = counter('cors_preflight_bypassed');
    const fetchStats = { jwksFetchSuccess: counter('jwks_fetch_success'), jwksFetchFailed: counter('jwks_fetch_failed') };
    const providers = new Map<string, Provider>();
    for (const p of config.providers) {
      providers.set(p.name, {
        config: p,
        extractor: new Extractor([p]),
        keys: new ProviderKeys(p.jwks, ctx.clusters, fetchStats),
        audiencesAllowed: audienceCheck(p.audiences),
        cache: p.jwtCacheSize > 0 ? new Map() : undefined,
      });
    }
    const env = {
      providers,
      allLocations: new Extractor(config.providers),
      cacheHit: counter('jwt_cache_hit'),
      cacheMiss: counter('jwt_cache_miss'),
      singleProvider: providers.size === 1 ? providers.values().next().value : undefined,
    };
    for (const [requirementName, requirement] of Object.entries(config.requirementMap)) this.byName.set(requirementName, createVerifier(requirement, env));
    this.rules = config.rules.map((rule) => ({
      matches: compileRouteMatch(rule.match),
      verifier: rule.requirementName !== undefined ? this.byName.get(rule.requirementName) : rule.requires === undefined ? undefined : createVerifier(rule.requires, env),
    }));
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    const head = stream.head;
    if (this.config.bypassCorsPreflight && isCorsPreflight(stream)) {
      this.corsPreflightBypassed.inc();
      this.allowed.inc();
      return 'continue';
    }
    let verifier: Verifier | undefined;
    const override = perRouteConfig<JwtAuthnPerRouteConfig>(stream, this.name);
    if (override !== undefined) {
      if (!isDisabled(override)) {
        if (!this.byName.has(override.requirementName)) {
          const reason = `Wrong requirement_name is provided: ${override.requirementName}`;
          this.denied.inc();
          stream.sendLocalReply(403, this.config.stripFailureResponse ? '' : `Failed JWT authentication: ${reason}`, '', details(reason));
          return 'stop';
        }
        verifier = this.byName.get(override.requirementName);
      }
    } else {
      verifier = this.matchingRule(stream)?.verifier;
    }
    if (verifier === undefined) {
      this.allowed.inc();
      return 'continue';
    }
    const ctx: VerifyContext = { head, nowSeconds: Math.floor(Date.now() / 1000), cancelled: false, verified: new Set() };
    const realm = realmOf(stream);
    let initiating = true;
    let result: FilterStatus | undefined;
    verifier.verify(ctx, (status) => {
      if (ctx.cancelled || stream.ended) return;
      ctx.cancelled = true; // one answer per request
      // Whatever the verdict, as Envoy: what the providers' *_in_metadata keys collected.
      if (ctx.extracted !== undefined) setDynamicMetadata(stream, JWT_AUTHN_METADATA, ctx.extracted);
      const verdict = this.onComplete(stream, ctx, status, realm);
      if (initiating) result = verdict;
      else if (verdict === 'continue') stream.continueDecoding();
    });
    initiating = false;
    if (result !== undefined) return result;
    // Waiting for a JWKS fetch: a stream that ends meanwhile drops the answer.
    stream.onDestroy({ onStreamDestroy: () => (ctx.cancelled = true) });
    return 'stop';
  }

  private matchingRule(stream: HttpStream): Rule | undefined {
    const head = stream.head;
    const host = head.headers.host;
    const request: RouteRequest = { authority: typeof host === 'string' ? host : '', path: head.path, method: head.method, scheme: head.scheme, headers: head.headers };
    const end = pathEnd(head.path);
    return this.rules.find((rule) => rule.matches(request, end));
  }

  private onComplete(stream: HttpStream, ctx: VerifyContext, status: JwtStatus, realm: string): FilterStatus {
    if (status === JwtStatus.ok) {
      this.allowed.inc();
      // clear_route_cache: claims copied into headers may route the request elsewhere.
      for (const provider of ctx.verified) if (provider.clearRouteCache) return refreshRoute(stream, this.routeTable?.()) ? 'continue' : 'stop';
      return 'continue';
    }
    this.denied.inc();
    const code = status === JwtStatus.audienceNotAllowed ? 403 : 401;
    if (this.config.stripFailureResponse) {
      stream.sendLocalReply(code, '', '', details(status));
    } else {
      const challenge = `Bearer realm="${realm}"${status === JwtStatus.missing ? '' : ', error="invalid_token"'}`;
      stream.sendLocalReply(code, status, '', details(status), { 'www-authenticate': challenge });
    }
    return 'stop';
  }
}

// A CORS preflight carries no credentials: OPTIONS with Origin and Access-Control-Request-Method.
function isCorsPreflight(stream: HttpStream): boolean {
  const { method, headers } = stream.head;
  return method === 'OPTIONS' && nonEmpty(headers.origin) && nonEmpty(headers['access-control-request-method']);
}

function nonEmpty(value: string | string[] | undefined): boolean {
  return value !== undefined && value.length > 0;
}

// Envoy's original URI: scheme://host/path, the path (before any rewrite) cut to 256 characters.
function realmOf(stream: HttpStream): string {
  const head = stream.head;
  const original = head.headers['x-envoy-original-path'];
  const path = typeof original === 'string' ? original : head.path;
  const host = head.headers.host;
  return `${head.scheme}://${typeof host === 'string' ? host : ''}${path.length > MAX_REALM_PATH ? path.slice(0, MAX_REALM_PATH) : path}`;
}

// Response code details have no spaces (access logs split on them).
function details(reason: string): string {
  return `jwt_authn_access_denied{${reason.replace(/\s/g, '_')}}`;
}

export function createJwtAuthnFilter(config: unknown, ctx: FilterContext, name: string): HttpFilterInstance {
  return new JwtAuthnFilter(config as JwtAuthnConfig, ctx, name);
}

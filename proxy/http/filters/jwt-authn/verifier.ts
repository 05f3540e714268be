// Envoy's JwtRequirement tree as verifiers: a provider (its token locations, its issuer, audiences
// and keys), allow_missing / allow_missing_or_failed (every provider's locations, the provider
// chosen by the token's iss), requires_any (the first success wins; failing that, a failure other
// than "missing" or "unknown issuer", then "unknown issuer", is reported), requires_all (the first
// failure loses).
// Verification completes synchronously when the keys are at hand, later when a JWKS is fetched.
import type { RequestHeaders } from '../../../codec/index.ts';
import type { JwtProviderConfig, JwtRequirement, MetadataStruct, MetadataValue } from '../../../config/model.ts';
import type { Counter } from '../../../stats/index.ts';
import { removeToken, type Extractor, type ExtractedToken } from './extractor.ts';
import { verifySignature } from './jwks.ts';
import { audienceCheck, checkTime, parseJwt, type Jwt } from './jwt.ts';
import type { ProviderKeys } from './provider-keys.ts';
import { JWT_STATUS_CODES, JwtStatus } from './status.ts';

/** One request's verification. */
export interface VerifyContext {
  readonly head: RequestHeaders;
  readonly nowSeconds: number;
  /** The stream ended: late answers are dropped. */
  cancelled: boolean;
  /** Providers whose tokens verified (clear_route_cache). */
  readonly verified: Set<JwtProviderConfig>;
  /**
   * What the providers' *_in_metadata keys collected (payloads, headers, failures), for the
   * filter's dynamic metadata once the requirement is decided; allocated by the first.
   */
  extracted?: Record<string, MetadataStruct>;
}

export type Done = (status: JwtStatus) => void;

export interface Verifier {
  verify(ctx: VerifyContext, done: Done): void;
}

/** A provider as the verifiers use it, built once per filter. */
export interface Provider {
  config: JwtProviderConfig;
  extractor: Extractor;
  keys: ProviderKeys;
  audiencesAllowed: (audiences: readonly string[]) => boolean;
  /** Verified tokens by their text (jwt_cache_config); undefined when not cached. */
  cache: Map<string, Jwt> | undefined;
}

export interface VerifierEnv {
  providers: ReadonlyMap<string, Provider>;
  /** Every provider's locations, for allow_missing and allow_missing_or_failed. */
  allLocations: Extractor;
  cacheHit: Counter;
  cacheMiss: Counter;
  /** The only provider, when there is one: where a failure with no provider of its own is recorded. */
  singleProvider: Provider | undefined;
}

export function createVerifier(requirement: JwtRequirement, env: VerifierEnv): Verifier | undefined {
  switch (requirement.kind) {
    case 'none':
      return undefined;
    case 'provider': {
      const provider = env.providers.get(requirement.provider)!;
      const audiences = requirement.audiences === undefined ? provider.audiencesAllowed : audienceCheck(requirement.audiences);
      return new Authenticator(env, provider, audiences, false, false);
    }
    case 'allow_missing':
      return new Authenticator(env, undefined, undefined, false, true);
    case 'allow_missing_or_failed':
      return new Authenticator(env, undefined, undefined, true, false);
    case 'any':
    case 'all': {
      const children = requirement.requirements.map((r) => createVerifier(r, env) ?? ALLOW);
      return requirement.kind === 'any' ? new AnyVerifier(children) : new AllVerifier(children);
    }
  }
}

const ALLOW: Verifier = { verify: (_ctx, done) => done(JwtStatus.ok) };

class AnyVerifier implements Verifier {
  private readonly children: Verifier[];

  constructor(children: Verifier[]) {
    this.children = children;
  }

  verify(ctx: VerifyContext, done: Done): void {
    let remaining = this.children.length;
    let completed = false;
    let final: JwtStatus = JwtStatus.missing;
    for (const child of this.children) {
      child.verify(ctx, (status) => {
        if (completed) return;
        if (status === JwtStatus.ok) {
          completed = true;
          done(status);
          return;
        }
        // A token for another provider's location is as good as none for this one; Envoy reports
        // a real failure first, then an unknown issuer (a token no provider takes), then missing.
        if ((status !== JwtStatus.missing && status !== JwtStatus.unknownIssuer) || final === JwtStatus.missing) final = status;
        if (--remaining === 0) {
          completed = true;
          done(final);
        }
      });
      if (completed) return;
    }
  }
}

class AllVerifier implements Verifier {
  private readonly children: Verifier[];

  constructor(children: Verifier[]) {
    this.children = children;
  }

  verify(ctx: VerifyContext, done: Done): void {
    let remaining = this.children.length;
    let completed = false;
    for (const child of this.children) {
      child.verify(ctx, (status) => {
        if (completed) return;
        if (status !== JwtStatus.ok || --remaining === 0) {
          completed = true;
          done(status);
        }
      });
      if (completed) return;
    }
  }
}

/**
 * Envoy's Authenticator: every token found must verify (a good token beside a bad one would let
 * the bad one reach the backend), unless failures or absence are allowed.
 */
class Authenticator implements Verifier {
  private readonly env: VerifierEnv;
  private readonly provider: Provider | undefined;
  private readonly audiences: ((audiences: readonly string[]) => boolean) | undefined;
  private readonly allowFailed: boolean;
  private readonly allowMissing: boolean;

  constructor(env: VerifierEnv, provider: Provider | undefined, audiences: ((a: readonly string[]) => boolean) | undefined, allowFailed: boolean, allowMissing: boolean) {
    this.env = env;
    this.provider = provider;
    this.audiences = audiences;
    this.allowFailed = allowFailed;
    this.allowMissing = allowMissing;
  }

  verify(ctx: VerifyContext, done: Done): void {
    const extractor = this.provider?.extractor ?? this.env.allLocations;
    extractor.sanitize(ctx.head.headers);
    const tokens = extractor.extract(ctx.head);
    const finish = (status: JwtStatus): void => {
      if (this.allowFailed || (this.allowMissing && status === JwtStatus.missing)) done(JwtStatus.ok);
      else done(status);
    };
    if (tokens.length === 0) {
      // Envoy knows no provider for a missing token but the only one, if there is just one.
      recordFailure(ctx, this.env.singleProvider, JwtStatus.missing);
      finish(JwtStatus.missing);
      return;
    }
    const next = (): void => {
      this.verifyToken(ctx, tokens.pop()!, (status) => {
        if (ctx.cancelled) return;
        if ((status !== JwtStatus.ok && !this.allowFailed && !this.allowMissing) || tokens.length === 0) finish(status);
        else next();
      });
    };
    next();
  }

  private verifyToken(ctx: VerifyContext, token: ExtractedToken, done: Done): void {
    const env = this.env;
    let known = this.provider ?? env.singleProvider;
    const fail = (status: JwtStatus): void => {
      recordFailure(ctx, known, status);
      done(status);
    };
    let jwt: Jwt | undefined;
    const cache = this.provider?.cache;
    if (this.provider !== undefined) {
      jwt = cache?.get(token.token);
      (jwt === undefined ? env.cacheMiss : env.cacheHit).inc();
    }
    const cacheHit = jwt !== undefined;
    if (jwt === undefined) {
      const parsed = parseJwt(token.token);
      if (typeof parsed === 'string') return fail(parsed);
      jwt = parsed;
    }
    if (!token.issuerAllowed(jwt.iss)) return fail(JwtStatus.unknownIssuer);
    const provider = this.provider ?? providerByIssuer(env.providers, jwt.iss);
    if (provider === undefined) return fail(JwtStatus.unknownIssuer);
    known = provider;
    const timeStatus = checkTime(jwt, ctx.nowSeconds, provider.config.clockSkewSeconds);
    if (timeStatus !== JwtStatus.ok) return fail(timeStatus);
    if (!(this.audiences ?? provider.audiencesAllowed)(jwt.audiences)) return fail(JwtStatus.audienceNotAllowed);
    const verified = jwt;
    if (cacheHit) return done(accept(ctx, provider, token, verified));
    provider.keys.get((jwks, status) => {
      if (ctx.cancelled) return;
      if (jwks === undefined) return fail(status);
      const signature = verifySignature(verified, jwks);
      if (signature !== JwtStatus.ok) return fail(signature);
      if (cache !== undefined) remember(cache, provider.config.jwtCacheSize, token.token, verified);
      done(accept(ctx, provider, token, verified));
    });
  }
}

// The first provider with the token's issuer, else the first that accepts any issuer.
function providerByIssuer(providers: ReadonlyMap<string, Provider>, iss: string): Provider | undefined {
  let anyIssuer: Provider | undefined;
  for (const p of providers.values()) {
    if (p.config.issuer === iss) return p;
    if (p.config.issuer === '' && anyIssuer === undefined) anyIssuer = p;
  }
  return anyIssuer;
}

// A good token: its payload and claims go upstream as the provider says, and the token itself
// only when forward is set.
function accept(ctx: VerifyContext, provider: Provider, token: ExtractedToken, jwt: Jwt): JwtStatus {
  const config = provider.config;
  const headers = ctx.head.headers;
  if (config.forwardPayloadHeader !== '') {
    const payload = jwt.payloadBase64url;
    headers[config.forwardPayloadHeader] = config.padForwardPayloadHeader ? payload.padEnd(Math.ceil(payload.length / 4) * 4, '=') : payload;
  }
  for (const { headerName, claimName } of config.claimToHeaders) {
    const value = claimValue(jwt.payload, claimName);
    if (value !== undefined) headers[headerName] = value;
  }
  if (!config.forward) removeToken(ctx.head, token.location);
  if (config.headerInMetadata !== '') extract(ctx, config.headerInMetadata, jwt.header as MetadataStruct);
  if (config.payloadInMetadata !== '') extract(ctx, config.payloadInMetadata, normalized(jwt.payload as MetadataStruct, config.spaceDelimitedClaims));
  ctx.verified.add(config);
  return JwtStatus.ok;
}

// normalize_payload_in_metadata: each listed top-level claim holding a string becomes the list of
// its space-separated words (a string of spaces only stays as it is, as in Envoy).
function normalized(payload: MetadataStruct, spaceDelimited: readonly string[]): MetadataStruct {
  let out: Record<string, MetadataValue> | undefined;
  for (const claim of spaceDelimited) {
    const value = payload[claim];
    if (typeof value !== 'string') continue;
    const words = value.split(' ').filter((w) => w !== '');
    if (words.length === 0) continue;
    out ??= { ...payload };
    out[claim] = words;
  }
  return out ?? payload;
}

// failed_status_in_metadata: Envoy's status enum number and message, under the key of the provider
// the token was for (when one is known).
function recordFailure(ctx: VerifyContext, provider: Provider | undefined, status: JwtStatus): void {
  const key = provider?.config.failedStatusInMetadata;
  if (key === undefined || key === '') return;
  extract(ctx, key, { code: JWT_STATUS_CODES[status], message: status });
}

function extract(ctx: VerifyContext, key: string, value: MetadataStruct): void {
  (ctx.extracted ??= {})[key] = value;
}

// A claim by its name, nested claims by a dotted path; only strings, numbers and booleans go in a header.
function claimValue(payload: Record<string, unknown>, name: string): string | undefined {
  let value: unknown = payload[name];
  if (value === undefined && name.includes('.')) {
    value = payload;
    for (const part of name.split('.')) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return undefined;
}

function remember(cache: Map<string, Jwt>, size: number, token: string, jwt: Jwt): void {
  if (cache.size >= size) cache.delete(cache.keys().next().value!);
  cache.set(token, jwt);
}

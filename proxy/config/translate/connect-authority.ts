// Istio's io.istio.http.connect_authority (older waypoints' connect_terminate; istio/proxy's
// source/extensions/filters/http/connect_authority until it gave way to set_filter_state). The
// filter acts only where a route's typed_per_filter_config enables it; its own config is empty in
// what istiod writes, and Istio's factory never reads it, so fields there are warned as ignored.
import type { ConnectAuthorityPerRoute } from '../model.ts';
import { bool, num } from './common.ts';
import type { Raw, TranslateContext } from './common.ts';
import { checkFields } from './istio.ts';

const TYPE = 'io.istio.http.connect_authority.Config';

export function connectAuthorityConfig(raw: Raw, path: string, ctx: TranslateContext): Record<string, never> {
  checkFields(raw, path, `${TYPE} (the filter's own; only a route's enables it)`, [], ['enabled', 'port'], ctx);
  return {};
}

export function connectAuthorityPerRoute(raw: Raw, path: string, ctx: TranslateContext): ConnectAuthorityPerRoute {
  checkFields(raw, path, TYPE, ['enabled', 'port'], [], ctx);
  return { enabled: bool(raw, 'enabled', false), port: num(raw, 'port', 0) };
}

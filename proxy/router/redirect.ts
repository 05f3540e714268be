// The Location of a redirect route, as Envoy's Http::Utility::newUri builds it.
import type { PathSpecifier, RedirectAction } from '../config/model.ts';
import { compilePathRewrite } from './path-rewrite.ts';
import { portStart } from './request.ts';
import type { RouteRequest } from './request.ts';

function defaultPort(scheme: string): string | undefined {
  return scheme === 'https' ? '443' : scheme === 'http' ? '80' : undefined;
}

export function compileRedirect(redirect: RedirectAction, spec: PathSpecifier): (req: RouteRequest) => string {
  const { schemeRedirect, hostRedirect, stripQuery } = redirect;
  const portRedirect = redirect.portRedirect ? String(redirect.portRedirect) : undefined;
  const pathRedirect = redirect.pathRedirect || undefined;
  // A query in path_redirect replaces the request's and is never stripped.
  const pathRedirectHasQuery = pathRedirect !== undefined && pathRedirect.includes('?');
  const rewrite = compilePathRewrite(spec, redirect.prefixRewrite, redirect.regexRewrite);

  return (req) => {
    const scheme = schemeRedirect ?? req.scheme;

    const hostSource = hostRedirect ?? req.authority;
    const colon = portStart(hostSource);
    const host = colon === -1 ? hostSource : hostSource.slice(0, colon);
    let port = colon === -1 ? undefined : hostSource.slice(colon + 1);
    if (portRedirect !== undefined) port = portRedirect;
    // http://foo:80 -> https://foo, not https://foo:80: a port that was the old scheme's default
    // goes when the scheme changes
    else if (hostRedirect === undefined && scheme !== req.scheme && port === defaultPort(req.scheme)) port = undefined;
    if (port === defaultPort(scheme)) port = undefined;

    let path: string;
    if (pathRedirect === undefined) {
      path = rewrite === undefined ? req.path : rewrite(req.path);
    } else if (pathRedirectHasQuery) {
      path = pathRedirect;
    } else {
      const query = req.path.indexOf('?');
      path = query === -1 ? pathRedirect : pathRedirect + req.path.slice(query);
    }
    if (path.charCodeAt(0) !== 47 /* / */) path = '/' + path;
    if (stripQuery && !pathRedirectHasQuery) {
      const query = path.indexOf('?');
      if (query !== -1) path = path.slice(0, query);
    }

    return port === undefined || port === '' ? `${scheme}://${host}${path}` : `${scheme}://${host}:${port}${path}`;
  };
}

// An OK answer's query_parameters_to_set / _to_remove applied to a request path, as Envoy's
// QueryParamsMulti: a set parameter keeps one value (the given one, added when absent), a removed
// one loses every value; names and values are taken as the service wrote them (not decoded).
export function setQueryParameters(path: string, toSet: readonly [string, string][], toRemove: readonly string[]): string {
  const hash = path.indexOf('#');
  const beforeFragment = hash === -1 ? path : path.slice(0, hash);
  const question = beforeFragment.indexOf('?');
  const base = question === -1 ? beforeFragment : beforeFragment.slice(0, question);
  const params = new Map<string, string[]>();
  if (question !== -1) {
    for (const part of beforeFragment.slice(question + 1).split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const key = eq === -1 ? part : part.slice(0, eq);
      const value = eq === -1 ? '' : part.slice(eq + 1);
      const values = params.get(key);
      if (values === undefined) params.set(key, [value]);
      else values.push(value);
    }
  }
  for (const [key, value] of toSet) params.set(key, [value]);
  for (const key of toRemove) params.delete(key);
  const query = [...params].flatMap(([key, values]) => values.map((v) => `${key}=${v}`)).join('&');
  return query === '' ? base : `${base}?${query}`;
}

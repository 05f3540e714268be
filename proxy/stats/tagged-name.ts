// A stat made with explicit tags (Envoy's StatNameTagVector, as Istio's stats filters make them)
// instead of tags extracted from its name. The tags travel inside the name, after a separator no
// tag value holds, so workers' snapshots and the primary's merge need nothing new. Envoy shows
// such a stat as name.tag.value... in /stats, and its Prometheus name is the name alone, without
// the envoy_ prefix when it begins with a custom stat namespace (istiocustom).
type Tag = { name: string; value: string }; // tags.ts's Tag, which imports this file

const SEPARATOR = '\x1f';

/** Stat namespaces whose Prometheus names carry no envoy_ prefix (Envoy's registerStatNamespace). */
export const CUSTOM_STAT_NAMESPACES: readonly string[] = ['istiocustom'];

export function taggedStatName(name: string, tags: readonly Tag[]): string {
  let out = name;
  for (const tag of tags) out += SEPARATOR + tag.name + SEPARATOR + tag.value.replaceAll(SEPARATOR, '');
  return out;
}

/** The name and tags of a stat made with explicit tags; undefined for any other stat. */
export function explicitTags(statName: string): { extracted: string; tags: Tag[] } | undefined {
  if (!statName.includes(SEPARATOR)) return undefined;
  const parts = statName.split(SEPARATOR);
  const tags: Tag[] = [];
  for (let i = 1; i + 1 < parts.length; i += 2) tags.push({ name: parts[i], value: parts[i + 1] });
  return { extracted: parts[0], tags };
}

/** The name /stats prints: Envoy's name.tag.value... for a stat with explicit tags. */
export function displayStatName(statName: string): string {
  return statName.includes(SEPARATOR) ? statName.replaceAll(SEPARATOR, '.') : statName;
}

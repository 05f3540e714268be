// Which content-coding a response gets, from the request's accept-encoding and the compressor
// filters of the chain (Envoy's CompressorFilter::chooseEncoding): the accepted coding with the
// highest q-value among the compressors that handle the response's content type; on a tie the
// first in the header wins unless a later one is choose_first; '*' means the first compressor of
// the chain; 'identity' (or nothing acceptable) means no compression. Made once per request and
// shared by every compressor filter of the chain.

/** How the header counted: Envoy's header_not_valid, header_identity, header_wildcard, header_compressor_used/overshadowed. */
export type HeaderStat = 'not_valid' | 'identity' | 'wildcard' | 'compressor';

export interface EncodingDecision {
  encoding: string; // 'identity' or a compressor's content-coding
  stat: HeaderStat;
}

/** A compressor filter of the chain, in chain order. */
export interface CompressorCandidate {
  encoding: string;
  chooseFirst: boolean;
  contentTypes: ReadonlySet<string>; // lower case
}

const IDENTITY: EncodingDecision = { encoding: 'identity', stat: 'not_valid' };

/** The media type of a content-type value: lower case, without parameters. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** The header's codings and q-values, in order; a coding whose q-value does not parse is left out. */
export function parseAcceptEncoding(header: string): { coding: string; q: number }[] {
  const out: { coding: string; q: number }[] = [];
  for (const token of header.split(',')) {
    if (token.trim() === '') continue;
    const semi = token.indexOf(';');
    const coding = (semi < 0 ? token : token.slice(0, semi)).trim().toLowerCase();
    let q = 1;
    if (semi >= 0) {
      const params = token.slice(semi + 1);
      const eq = params.indexOf('=');
      if (eq >= 0 && params.slice(0, eq).trim().toLowerCase() === 'q') {
        const value = params.slice(eq + 1).trim();
        q = Number(value);
        if (value === '' || !Number.isFinite(q)) continue;
      }
    }
    out.push({ coding, q });
  }
  return out;
}

export function chooseEncoding(acceptEncoding: string, contentType: string | undefined, chain: readonly CompressorCandidate[]): EncodingDecision {
  const type = contentType === undefined ? '' : mediaType(contentType);
  // The compressors that would take this response, by coding; the first of a coding stands for it.
  const allowed = new Map<string, { chooseFirst: boolean }>();
  for (const c of chain) {
    if (type !== '' && !c.contentTypes.has(type)) continue;
    if (!allowed.has(c.encoding)) allowed.set(c.encoding, { chooseFirst: c.chooseFirst });
  }
  const accepted = parseAcceptEncoding(acceptEncoding);
  for (const { coding, q } of accepted) if (q === 0) allowed.delete(coding);
  if (accepted.length === 0 || allowed.size === 0) return IDENTITY;

  let choice = { coding: 'identity', q: 0 };
  for (const pair of accepted) {
    const compressor = allowed.get(pair.coding);
    if (compressor === undefined && pair.coding !== 'identity' && pair.coding !== '*') continue;
    if (pair.q > choice.q || (pair.q === choice.q && compressor?.chooseFirst === true)) choice = pair;
  }
  if (choice.q === 0) return IDENTITY;
  if (choice.coding === 'identity') return { encoding: 'identity', stat: 'identity' };
  // The map keeps chain order, so its first key is the first compressor of the chain.
  if (choice.coding === '*') return { encoding: allowed.keys().next().value!, stat: 'wildcard' };
  return { encoding: choice.coding, stat: 'compressor' };
}

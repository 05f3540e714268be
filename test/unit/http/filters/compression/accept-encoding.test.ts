// accept-encoding negotiation as Envoy's chooseEncoding: q-values, '*', identity, q=0, ties,
// choose_first and the content types each compressor of the chain takes.
import t from 'tap';
import { chooseEncoding, mediaType, parseAcceptEncoding, type CompressorCandidate } from '../../../../../proxy/http/filters/compression/accept-encoding.ts';

const types = new Set(['text/plain', 'application/json']);
const gzip: CompressorCandidate = { encoding: 'gzip', chooseFirst: false, contentTypes: types };
const br: CompressorCandidate = { encoding: 'br', chooseFirst: false, contentTypes: types };
const zstd: CompressorCandidate = { encoding: 'zstd', chooseFirst: false, contentTypes: types };
const chain = [br, zstd, gzip]; // Istio's order

t.test('parsing: codings in order, q-values, what does not parse left out', async (t) => {
  t.same(parseAcceptEncoding('gzip, br;q=0.5 ,  ZSTD;Q=0 ,,'), [
    { coding: 'gzip', q: 1 },
    { coding: 'br', q: 0.5 },
    { coding: 'zstd', q: 0 },
  ]);
  t.same(parseAcceptEncoding('gzip;q=abc, br;level=1, *;q='), [{ coding: 'br', q: 1 }], 'a bad q-value drops its coding; other parameters are not q');
  t.same(parseAcceptEncoding(''), []);
});

t.test('the media type of a content-type', async (t) => {
  t.equal(mediaType('Text/Plain; charset=utf-8'), 'text/plain');
  t.equal(mediaType(' application/json '), 'application/json');
});

t.test('the highest q-value among the chain\'s codings wins', async (t) => {
  const pick = (accept: string, contentType: string | undefined = 'text/plain') => chooseEncoding(accept, contentType, chain);
  t.same(pick('gzip'), { encoding: 'gzip', stat: 'compressor' });
  t.same(pick('gzip;q=0.5, zstd;q=0.8, br;q=0.1'), { encoding: 'zstd', stat: 'compressor' });
  t.same(pick('gzip, br'), { encoding: 'gzip', stat: 'compressor' }, 'a tie goes to the first in the header');
  t.same(pick('deflate, gzip;q=0.3'), { encoding: 'gzip', stat: 'compressor' }, 'codings no compressor makes are passed over');
  t.same(pick('*'), { encoding: 'br', stat: 'wildcard' }, "'*' is the first compressor of the chain");
  t.same(pick('br;q=0, *'), { encoding: 'zstd', stat: 'wildcard' }, "a q=0 coding is not what '*' stands for");
  t.same(pick('identity'), { encoding: 'identity', stat: 'identity' });
  t.same(pick('identity, gzip;q=0.5'), { encoding: 'identity', stat: 'identity' }, 'identity preferred');
  t.same(pick('gzip;q=0'), { encoding: 'identity', stat: 'not_valid' });
  t.same(pick('deflate'), { encoding: 'identity', stat: 'not_valid' });
  t.same(pick(''), { encoding: 'identity', stat: 'not_valid' }, 'an empty header accepts identity only');
  t.same(pick('identity;q=0, *;q=0'), { encoding: 'identity', stat: 'not_valid' });
});

t.test('choose_first wins a tie whatever the header order', async (t) => {
  const first = { ...gzip, chooseFirst: true };
  t.same(chooseEncoding('br, gzip', 'text/plain', [br, first]), { encoding: 'gzip', stat: 'compressor' });
  t.same(chooseEncoding('br, gzip;q=0.9', 'text/plain', [br, first]), { encoding: 'br', stat: 'compressor' }, 'not a lower q-value');
});

t.test('a compressor that does not take the content type steps out of the choice', async (t) => {
  const jsonOnlyBr = { ...br, contentTypes: new Set(['application/json']) };
  t.same(chooseEncoding('br, gzip;q=0.5', 'text/plain', [jsonOnlyBr, gzip]), { encoding: 'gzip', stat: 'compressor' });
  t.same(chooseEncoding('br, gzip;q=0.5', 'application/json; charset=utf-8', [jsonOnlyBr, gzip]), { encoding: 'br', stat: 'compressor' });
  t.same(chooseEncoding('br, gzip;q=0.5', undefined, [jsonOnlyBr, gzip]), { encoding: 'br', stat: 'compressor' }, 'no content type: every compressor counts');
  t.same(chooseEncoding('gzip', 'image/png', chain), { encoding: 'identity', stat: 'not_valid' });
});

t.test('two compressors of one coding: the first stands for it', async (t) => {
  const gzipFirst = { ...gzip, contentTypes: new Set(['text/html']) };
  t.same(chooseEncoding('gzip', 'text/plain', [gzipFirst, gzip]), { encoding: 'gzip', stat: 'compressor' });
});

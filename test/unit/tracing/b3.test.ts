import t from 'tap';
import { extractSampled, extractSpanContext, injectB3 } from '../../../proxy/tracing/b3.ts';

t.test('b3 single header', async (t) => {
  const trace = '80f198ee56343ba864fe8b2a57d3eff7';
  t.same(extractSpanContext({ b3: `${trace}-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90` }, true), { traceId: trace, spanId: 'e457b5a2e4d86bd1', parentId: '05e3ac9a4f6e3b90', sampled: true });
  t.same(extractSpanContext({ b3: 'A2FB4A1D1A96D312-e457b5a2e4d86bd1' }, false), { traceId: 'a2fb4a1d1a96d312', spanId: 'e457b5a2e4d86bd1', parentId: '', sampled: false }, '64-bit, no flag');
  t.equal(extractSpanContext({ b3: '1' }, true), null, 'a lone sampling flag carries no context');
  t.equal(extractSpanContext({ b3: 'x' }, true), 'invalid');
  t.equal(extractSpanContext({ b3: 'a2fb4a1d1a96d312' }, true), 'invalid', 'no span id');
  t.equal(extractSpanContext({ b3: 'a2fb4a1d1a96d312-e457b5a2e4d86bd1-2' }, true), 'invalid', 'a bad flag');
  t.equal(extractSampled({ b3: `${trace}-e457b5a2e4d86bd1-0` }), false);
  t.equal(extractSampled({ b3: 'a2fb4a1d1a96d312-e457b5a2e4d86bd1-d' }), true, 'debug samples');
  t.equal(extractSampled({ b3: 'a2fb4a1d1a96d312-e457b5a2e4d86bd1' }), undefined, 'no flag: the local decision');
  t.equal(extractSampled({ b3: '0' }), false);
});

t.test('b3 multi headers', async (t) => {
  const headers = { 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-parentspanid': '0020000000000001', 'x-b3-sampled': '1' };
  t.same(extractSpanContext(headers, true), { traceId: '463ac35c9f6413ad', spanId: 'a2fb4a1d1a96d312', parentId: '0020000000000001', sampled: true });
  t.equal(extractSampled(headers), true);
  t.equal(extractSampled({ 'x-b3-sampled': 'true' }), true, 'the old spelling');
  t.equal(extractSampled({ 'x-b3-sampled': '0' }), false);
  t.equal(extractSampled({}), undefined);
  t.equal(extractSpanContext({ 'x-b3-traceid': '463ac35c9f6413ad' }, true), null, 'no span id: no context');
  t.equal(extractSpanContext({ 'x-b3-traceid': 'zz', 'x-b3-spanid': 'a2fb4a1d1a96d312' }, true), 'invalid');
  t.equal(extractSpanContext({ b3: 'a2fb4a1d1a96d312-e457b5a2e4d86bd1', 'x-b3-traceid': 'zz', 'x-b3-spanid': 'zz' }, true) !== 'invalid', true, 'b3 wins over the multi headers');
});

t.test('inject writes the multi headers and drops a stale parent', async (t) => {
  const headers: Record<string, string | string[] | undefined> = { 'x-b3-parentspanid': 'ffffffffffffffff' };
  injectB3(headers, { traceId: '463ac35c9f6413ad', spanId: 'a2fb4a1d1a96d312', parentId: '', sampled: false });
  t.same(headers, { 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '0' });
});

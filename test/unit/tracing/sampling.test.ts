import t from 'tap';
import { decideTracing } from '../../../proxy/tracing/sampling.ts';
import { requestIdInteger, traceStatus, withTraceStatus } from '../../../proxy/tracing/request-id.ts';

const all = { clientSamplingPercent: 100, randomSamplingPercent: 100, overallSamplingPercent: 100 };
const none = { clientSamplingPercent: 0, randomSamplingPercent: 0, overallSamplingPercent: 100 };
// 0x00001388 = 5000: below 50 % (5000 of 10000 is not < 5000), so a 50 % sampler says no.
const ID = '00001388-1b2c-4d5e-8f90-123456789abc';

t.test('the trace status lives in the x-request-id', async (t) => {
  t.equal(traceStatus(ID), 'no_trace');
  t.equal(withTraceStatus(ID, 'forced')[14], 'a');
  t.equal(traceStatus(withTraceStatus(ID, 'sampled')), 'sampled');
  t.equal(traceStatus(withTraceStatus(ID, 'client')), 'client');
  t.equal(withTraceStatus('short', 'forced'), 'short', 'not a UUID: left alone');
  t.equal(requestIdInteger(ID), 5000);
  t.equal(requestIdInteger('zz'), undefined);
});

t.test("Envoy's decision", async (t) => {
  let headers: Record<string, string> = { 'x-request-id': ID };
  t.same(decideTracing(headers, all, false), { reason: 'random_sampling', traced: true });
  t.equal(headers['x-request-id'][14], '9', 'recorded for the next hop');
  t.same(decideTracing(headers, none, false), { reason: 'random_sampling', traced: true }, 'an earlier decision stands');

  headers = { 'x-request-id': ID };
  t.same(decideTracing(headers, { ...all, randomSamplingPercent: 50 }, false), { reason: 'not_traceable', traced: false }, 'random sampling reads the id, not a die');
  t.same(decideTracing({ 'x-request-id': ID }, { ...all, randomSamplingPercent: 50.01 }, false).traced, true);

  t.same(decideTracing({ 'x-request-id': ID, 'x-envoy-force-trace': 'true' }, none, false), { reason: 'service_forced', traced: true });
  t.same(decideTracing({ 'x-request-id': ID, 'x-client-trace-id': 'c' }, { ...none, clientSamplingPercent: 100 }, false), { reason: 'client_enabled', traced: true });
  t.same(decideTracing({ 'x-request-id': ID, 'x-client-trace-id': 'c' }, none, false), { reason: 'not_traceable', traced: false }, 'client sampling 0');
  headers = { 'x-request-id': ID, 'x-envoy-force-trace': 'true' };
  t.same(decideTracing(headers, { ...none, overallSamplingPercent: 10 }, false), { reason: 'not_traceable', traced: false }, 'overall sampling has the last word');
  t.equal(headers['x-request-id'][14], '4');
  t.same(decideTracing({}, all, false), { reason: 'not_traceable', traced: false }, 'no request id: nothing to decide on');
  t.same(decideTracing({ 'x-request-id': ID }, all, true), { reason: 'health_check', traced: false });
});

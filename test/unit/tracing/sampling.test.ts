import t from 'tap';
import { decideTracing } from '../../../proxy/tracing/sampling.ts';
import { requestIdInteger, traceStatus, withTraceStatus } from '../../../proxy/tracing/request-id.ts';

const all = { clientSamplingPercent: 100, randomSamplingPercent: 100, overallSamplingPercent: 100 };
const none = { clientSamplingPercent: 0, randomSamplingPercent: 0, overallSamplingPercent: 100 };
// 0x00001388 = 5000: below 50 % (5000 of 10000 is not < 5000), so a 50 % sampler says no.
const ID = '00001388-1b2c-4d5e-8f90-123456789abc';
const UUID = { packTraceReason: true, useRequestIdForTraceSampling: true };

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
  t.same(decideTracing(headers, all, UUID, false), { reason: 'random_sampling', traced: true });
  t.equal(headers['x-request-id'][14], '9', 'recorded for the next hop');
  t.same(decideTracing(headers, none, UUID, false), { reason: 'random_sampling', traced: true }, 'an earlier decision stands');

  headers = { 'x-request-id': ID };
  t.same(decideTracing(headers, { ...all, randomSamplingPercent: 50 }, UUID, false), { reason: 'not_traceable', traced: false }, 'random sampling reads the id, not a die');
  t.same(decideTracing({ 'x-request-id': ID }, { ...all, randomSamplingPercent: 50.01 }, UUID, false).traced, true);

  t.same(decideTracing({ 'x-request-id': ID, 'x-envoy-force-trace': 'true' }, none, UUID, false), { reason: 'service_forced', traced: true });
  t.same(decideTracing({ 'x-request-id': ID, 'x-client-trace-id': 'c' }, { ...none, clientSamplingPercent: 100 }, UUID, false), { reason: 'client_enabled', traced: true });
  t.same(decideTracing({ 'x-request-id': ID, 'x-client-trace-id': 'c' }, none, UUID, false), { reason: 'not_traceable', traced: false }, 'client sampling 0');
  headers = { 'x-request-id': ID, 'x-envoy-force-trace': 'true' };
  t.same(decideTracing(headers, { ...none, overallSamplingPercent: 10 }, UUID, false), { reason: 'not_traceable', traced: false }, 'overall sampling has the last word');
  t.equal(headers['x-request-id'][14], '4');
  t.same(decideTracing({}, all, UUID, false), { reason: 'not_traceable', traced: false }, 'no request id: nothing to decide on');
  t.same(decideTracing({ 'x-request-id': ID }, all, UUID, true), { reason: 'health_check', traced: false });
});

t.test('the request id extension: pack_trace_reason and use_request_id_for_trace_sampling off', async (t) => {
  const forced = withTraceStatus(ID, 'forced');
  let headers: Record<string, string> = { 'x-request-id': forced };
  t.same(decideTracing(headers, none, { packTraceReason: false, useRequestIdForTraceSampling: true }, false), { reason: 'not_traceable', traced: false }, 'no status is read from the id');
  headers = { 'x-request-id': ID, 'x-envoy-force-trace': 'true' };
  t.same(decideTracing(headers, none, { packTraceReason: false, useRequestIdForTraceSampling: true }, false), { reason: 'service_forced', traced: true });
  t.equal(headers['x-request-id'], ID, 'nor written into it');
  headers = { 'x-request-id': ID };
  t.same(decideTracing(headers, none, { packTraceReason: true, useRequestIdForTraceSampling: false }, false), { reason: 'random_sampling', traced: true }, 'the tracer decides');
  t.equal(headers['x-request-id'], ID);
  t.same(decideTracing({}, none, { packTraceReason: true, useRequestIdForTraceSampling: false }, true), { reason: 'health_check', traced: false });
});

import t from 'tap';
import type { HeaderAppendAction, HeaderMutations, HeaderValueOption } from '../../../proxy/config/model.ts';
import { compileHeaderMutationLevel, HeaderMutator, literalValue } from '../../../proxy/router/header-mutation.ts';
import type { MutableHeaderMap } from '../../../proxy/router/header-mutation.ts';
import { mutations } from './builders.ts';

function add(key: string, value: string, appendAction: HeaderAppendAction = 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue = false): HeaderValueOption {
  return { key, value, appendAction, keepEmptyValue };
}

function mutator(...chain: HeaderMutations[]) {
  return new HeaderMutator(chain.map((m) => compileHeaderMutationLevel(m, literalValue)));
}

function requestAfter(chain: HeaderMutations[], headers: MutableHeaderMap): MutableHeaderMap {
  mutator(...chain).applyRequest(headers, undefined);
  return headers;
}

t.test('append actions', async (t) => {
  const level = (action: HeaderAppendAction) => [mutations({ requestHeadersToAdd: [add('x', 'new', action)] })];
  t.same(requestAfter(level('APPEND_IF_EXISTS_OR_ADD'), { x: 'old' }), { x: ['old', 'new'] });
  t.same(requestAfter(level('APPEND_IF_EXISTS_OR_ADD'), { x: ['a', 'b'] }), { x: ['a', 'b', 'new'] });
  t.same(requestAfter(level('APPEND_IF_EXISTS_OR_ADD'), {}), { x: 'new' });
  t.same(requestAfter(level('ADD_IF_ABSENT'), { x: 'old' }), { x: 'old' });
  t.same(requestAfter(level('ADD_IF_ABSENT'), {}), { x: 'new' });
  t.same(requestAfter(level('OVERWRITE_IF_EXISTS_OR_ADD'), { x: ['a', 'b'] }), { x: 'new' });
  t.same(requestAfter(level('OVERWRITE_IF_EXISTS_OR_ADD'), {}), { x: 'new' });
  t.same(requestAfter(level('OVERWRITE_IF_EXISTS'), { x: 'old' }), { x: 'new' });
  t.same(requestAfter(level('OVERWRITE_IF_EXISTS'), {}), {});
});

t.test('the array of an appended header is not mutated in place', async (t) => {
  const shared = ['a'];
  const headers = requestAfter([mutations({ requestHeadersToAdd: [add('x', 'b')] })], { x: shared });
  t.same(headers.x, ['a', 'b']);
  t.same(shared, ['a']);
});

t.test('empty values are dropped unless keep_empty_value', async (t) => {
  t.same(requestAfter([mutations({ requestHeadersToAdd: [add('x', '')] })], {}), {});
  t.same(requestAfter([mutations({ requestHeadersToAdd: [add('x', '', 'APPEND_IF_EXISTS_OR_ADD', true)] })], {}), { x: '' });
  t.same(requestAfter([mutations({ requestHeadersToAdd: [add('x', '', 'OVERWRITE_IF_EXISTS_OR_ADD')] })], { x: 'old' }), { x: 'old' });
});

t.test('removes run before adds within a level', async (t) => {
  const m = mutations({ requestHeadersToRemove: ['x'], requestHeadersToAdd: [add('x', 'new')] });
  t.same(requestAfter([m], { x: 'old', y: 'kept' }), { x: 'new', y: 'kept' });
});

t.test('within a level: conditions see the headers before the level, overwrites before appends', async (t) => {
  const m = mutations({
    requestHeadersToAdd: [add('x', 'appended'), add('x', 'overwritten', 'OVERWRITE_IF_EXISTS_OR_ADD'), add('y', '1'), add('y', '2', 'ADD_IF_ABSENT')],
  });
  t.same(requestAfter([m], {}), { x: ['overwritten', 'appended'], y: ['1', '2'] });
});

t.test('most specific first, so the route config wins on overwrite', async (t) => {
  const level = (value: string) =>
    mutations({
      requestHeadersToAdd: [add('x-owner', value, 'OVERWRITE_IF_EXISTS_OR_ADD'), add('x-trail', value)],
      responseHeadersToAdd: [add('x-owner', value, 'OVERWRITE_IF_EXISTS_OR_ADD')],
    });
  const chain = [level('weighted'), level('route'), level('vhost'), level('config')];
  t.same(requestAfter(chain, {}), { 'x-owner': 'config', 'x-trail': ['weighted', 'route', 'vhost', 'config'] });
  const response: MutableHeaderMap = { 'content-length': 12 };
  mutator(...chain).applyResponse(response, undefined);
  t.same(response, { 'content-length': 12, 'x-owner': 'config' });
  // a less specific level removing a header takes away what a more specific one added
  const removal = [mutations({ requestHeadersToAdd: [add('x-a', '1')] }), mutations({ requestHeadersToRemove: ['x-a'] })];
  t.same(requestAfter(removal, {}), {});
});

t.test('request and response sides are separate', async (t) => {
  const m = mutations({
    requestHeadersToAdd: [add('x-req', '1')],
    responseHeadersToAdd: [add('x-res', '1')],
    responseHeadersToRemove: ['server'],
  });
  const request: MutableHeaderMap = { server: 'kept' };
  const response: MutableHeaderMap = { server: 'upstream', 'content-length': 5 };
  mutator(m).applyRequest(request, undefined);
  mutator(m).applyResponse(response, undefined);
  t.same(request, { server: 'kept', 'x-req': '1' });
  t.same(response, { 'content-length': 5, 'x-res': '1' });
  const appended: MutableHeaderMap = { 'x-res': 7 };
  mutator(m).applyResponse(appended, undefined);
  t.same(appended, { 'x-res': ['7', '1'] }, 'a numeric value becomes a string when appended to');
});

t.test('values with % go through the formatter, compiled once; plain values do not', async (t) => {
  const compiledTemplates: string[] = [];
  const compileValue = (template: string) => {
    compiledTemplates.push(template);
    return (ctx: { remote: string }) => template.replace('%DOWNSTREAM_REMOTE_ADDRESS%', ctx.remote);
  };
  const level = compileHeaderMutationLevel(
    mutations({ requestHeadersToAdd: [add('x-remote', 'ip=%DOWNSTREAM_REMOTE_ADDRESS%'), add('x-plain', 'plain')] }),
    compileValue,
  );
  const chain = new HeaderMutator([level]);
  for (const remote of ['10.0.0.1', '10.0.0.2']) {
    const headers: MutableHeaderMap = {};
    chain.applyRequest(headers, { remote });
    t.same(headers, { 'x-remote': `ip=${remote}`, 'x-plain': 'plain' });
  }
  t.same(compiledTemplates, ['ip=%DOWNSTREAM_REMOTE_ADDRESS%']);
});

t.test('a formatter that yields nothing adds nothing', async (t) => {
  const level = compileHeaderMutationLevel(mutations({ requestHeadersToAdd: [add('x', '%UPSTREAM_HOST%')] }), () => () => '');
  const headers: MutableHeaderMap = {};
  new HeaderMutator([level]).applyRequest(headers, undefined);
  t.same(headers, {});
});

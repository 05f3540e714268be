// Envoy's MetadataMatcher and ValueMatcher (the one matcher behind RBAC's metadata rules and
// ext_authz's filter_enabled_metadata): each value matcher against each kind of value, the path
// into nested Structs, a missing path (Envoy's unset Value) and invert.
import t from 'tap';
import type { MetadataValue, ValueMatch } from '../../../proxy/config/model.ts';
import { compileMetadataMatcher, compileValueMatcher } from '../../../proxy/router/index.ts';

const exact = (value: string): ValueMatch => ({ kind: 'string', matcher: { kind: 'exact', value, ignoreCase: false } });
const VALUES: [string, MetadataValue | undefined][] = [
  ['unset', undefined],
  ['null', null],
  ['number', 3],
  ['string', 'a'],
  ['bool', true],
  ['list', ['a', 'b']],
  ['struct', { a: 'a' }],
];

function matching(match: ValueMatch): string[] {
  const test = compileValueMatcher(match);
  return VALUES.filter(([, value]) => test(value)).map(([name]) => name);
}

t.test('each value matcher takes its own kind of value only', async (t) => {
  t.same(matching({ kind: 'null' }), ['null']);
  t.same(matching({ kind: 'double_exact', value: 3 }), ['number']);
  t.same(matching({ kind: 'double_range', start: 3, end: 4 }), ['number'], 'the range includes its start');
  t.same(matching({ kind: 'double_range', start: 1, end: 3 }), [], 'and not its end');
  t.same(matching(exact('a')), ['string'], 'a string matcher does not look into lists or structs');
  t.same(matching({ kind: 'string', matcher: { kind: 'prefix', value: 'A', ignoreCase: true } }), ['string']);
  t.same(matching({ kind: 'bool', value: true }), ['bool']);
  t.same(matching({ kind: 'bool', value: false }), []);
  t.same(matching({ kind: 'present', present: true }), ['null', 'number', 'string', 'bool', 'list', 'struct'], 'present: any value, null included');
  t.same(matching({ kind: 'present', present: false }), [], 'present_match false matches nothing, as in Envoy');
  t.same(matching({ kind: 'list_one_of', item: exact('b') }), ['list']);
  t.same(matching({ kind: 'list_one_of', item: exact('c') }), []);
  t.same(matching({ kind: 'or', matchers: [{ kind: 'null' }, { kind: 'bool', value: true }] }), ['null', 'bool']);
});

t.test('istiod\'s extended JWT claim matcher: a list holding one of the values, or the value itself', async (t) => {
  const values: ValueMatch = { kind: 'or', matchers: [exact('admin'), exact('ops')] };
  const test = compileValueMatcher({ kind: 'or', matchers: [{ kind: 'list_one_of', item: values }, values] });
  t.ok(test(['dev', 'ops']));
  t.ok(test('admin'));
  t.notOk(test(['dev']));
  t.notOk(test('dev'));
  t.notOk(test(undefined));
});

t.test('the path steps into nested structs; a missing step is unset; invert', async (t) => {
  const metadata = { 'envoy.filters.http.jwt_authn': { payload: { iss: 'https://issuer', org: { team: 'x' }, groups: ['a'] } } };
  const matcher = (path: string[], value: ValueMatch, invert = false) => compileMetadataMatcher({ filter: 'envoy.filters.http.jwt_authn', path, value, invert });
  t.ok(matcher(['payload', 'iss'], exact('https://issuer'))(metadata));
  t.ok(matcher(['payload', 'org', 'team'], exact('x'))(metadata), 'a nested claim');
  t.notOk(matcher(['payload', 'groups', '0'], exact('a'))(metadata), 'a list is not a struct: no step into it');
  t.notOk(matcher(['payload', 'iss', 'deeper'], { kind: 'present', present: true })(metadata), 'a string is not a struct');
  t.notOk(matcher(['payload', 'sub'], { kind: 'present', present: true })(metadata));
  t.notOk(matcher(['payload', 'sub'], { kind: 'present', present: false })(metadata), 'a missing value is not matched by present: false');
  t.ok(matcher(['payload', 'sub'], { kind: 'present', present: true }, true)(metadata), 'invert: a missing value matches');
  t.notOk(matcher(['payload', 'iss'], exact('https://issuer'), true)(metadata));
  t.notOk(matcher(['payload', 'iss'], exact('https://issuer'))(undefined), 'a stream with no dynamic metadata');
  t.ok(matcher(['payload', 'iss'], exact('https://issuer'), true)(undefined));
  t.notOk(compileMetadataMatcher({ filter: 'other', path: ['payload'], value: { kind: 'present', present: true }, invert: false })(metadata), 'another namespace');
});

import t from 'tap';
import {
  compileHeaderMatcher,
  compileQueryParameterMatcher,
  compileStringMatcher,
} from '../../../proxy/router/match.ts';
import { compileRegexSubstitution, fullMatchRegExp } from '../../../proxy/router/regex.ts';
import { headerValue, portStart, queryParameterValue } from '../../../proxy/router/request.ts';
import { headerMatcher } from './builders.ts';

t.test('string matchers', async (t) => {
  const m = (kind: 'exact' | 'prefix' | 'suffix' | 'contains' | 'safe_regex', value: string, ignoreCase = false) =>
    compileStringMatcher({ kind, value, ignoreCase });
  t.ok(m('exact', 'abc')('abc'));
  t.notOk(m('exact', 'abc')('ABC'));
  t.ok(m('exact', 'abc', true)('AbC'));
  t.notOk(m('exact', 'abc', true)('abcd'));
  t.ok(m('prefix', '/api')('/api/v1'));
  t.notOk(m('prefix', '/api')('/ap'));
  t.ok(m('prefix', '/API', true)('/api/v1'));
  t.ok(m('suffix', '.js')('app.js'));
  t.ok(m('suffix', '.JS', true)('app.js'));
  t.notOk(m('suffix', '.js', true)('js'));
  t.ok(m('contains', 'bcd')('abcde'));
  t.notOk(m('contains', 'BCD')('abcde'));
  t.ok(m('contains', 'BCD', true)('aBcDe'));
  // safe_regex is a full match, like RE2::FullMatch
  t.ok(m('safe_regex', '\\d{3}')('123'));
  t.notOk(m('safe_regex', '\\d{3}')('1234'));
  t.notOk(m('safe_regex', 'a|b')('ab'), 'the alternation is anchored as a whole');
  t.ok(m('safe_regex', 'a|b')('b'));
});

t.test('RE2 spellings are translated', async (t) => {
  t.ok(fullMatchRegExp('(?i)abc').test('ABC'));
  t.equal(fullMatchRegExp('(?P<id>[0-9]+)').exec('42')?.groups?.id, '42');
  t.ok(fullMatchRegExp('\\Aab\\z').test('ab'));
  t.throws(() => fullMatchRegExp('(?U)a+'));
  const rewrite = compileRegexSubstitution('^/service/([^/]+)(/.*)$', '\\2/instance/\\1');
  t.equal(rewrite('/service/foo/v1/api'), '/v1/api/instance/foo');
  t.equal(compileRegexSubstitution('one', 'two')('/xxx/one/yyy/one/zzz'), '/xxx/two/yyy/two/zzz');
  t.equal(compileRegexSubstitution('^(.*?)one(.*)$', '\\1two\\2')('/xxx/one/yyy/one/zzz'), '/xxx/two/yyy/one/zzz');
  t.equal(compileRegexSubstitution('(?i)/xxx/', '/yyy/')('/aaa/XxX/bbb'), '/aaa/yyy/bbb');
  t.equal(compileRegexSubstitution('(a)', '\\12$')('a'), 'a2$', 'a digit after a group and a $ are literal');
  t.equal(compileRegexSubstitution('b', '[\\0]')('abc'), 'a[b]c');
  t.throws(() => compileRegexSubstitution('(a)', '\\2'), 'a group the pattern lacks');
});

t.test('header matchers', async (t) => {
  const check = (partial: Parameters<typeof headerMatcher>[0], value: string | undefined) =>
    compileHeaderMatcher(headerMatcher(partial)).matches(value);

  t.ok(check({ name: 'x', kind: 'exact', value: 'a' }, 'a'));
  t.notOk(check({ name: 'x', kind: 'exact', value: 'a' }, 'b'));
  t.notOk(check({ name: 'x', kind: 'exact', value: 'a' }, undefined), 'absent fails');
  t.ok(check({ name: 'x', kind: 'prefix', value: 'ab' }, 'abc'));
  t.ok(check({ name: 'x', kind: 'suffix', value: 'bc' }, 'abc'));
  t.ok(check({ name: 'x', kind: 'contains', value: 'b' }, 'abc'));
  t.ok(check({ name: 'x', kind: 'exact', value: 'ABC', ignoreCase: true }, 'abc'));
  t.ok(check({ name: 'x', kind: 'safe_regex', value: '[a-c]+' }, 'abc'));
  t.notOk(check({ name: 'x', kind: 'safe_regex', value: '[a-c]+' }, 'abcd'));

  // invert: proto examples
  t.ok(check({ name: 'x', kind: 'safe_regex', value: '\\d{3}', invertMatch: true }, '1234'));
  t.notOk(check({ name: 'x', kind: 'safe_regex', value: '\\d{3}', invertMatch: true }, '123'));
  t.notOk(check({ name: 'x', kind: 'exact', value: 'a', invertMatch: true }, undefined), 'absent fails even inverted');

  // present
  t.ok(check({ name: 'x', kind: 'present', presentMatch: true }, ''));
  t.notOk(check({ name: 'x', kind: 'present', presentMatch: true }, undefined));
  t.ok(check({ name: 'x', kind: 'present', presentMatch: false }, undefined));
  t.notOk(check({ name: 'x', kind: 'present', presentMatch: false }, 'v'));
  t.ok(check({ name: 'x', kind: 'present', presentMatch: true, invertMatch: true }, undefined));
  t.notOk(check({ name: 'x', kind: 'present', presentMatch: true, invertMatch: true }, 'v'));

  // range [start, end), whole value an integer
  const range = { start: -10, end: 0 };
  t.ok(check({ name: 'x', kind: 'range', range }, '-1'));
  t.notOk(check({ name: 'x', kind: 'range', range }, '0'));
  t.notOk(check({ name: 'x', kind: 'range', range }, '-1somestring'));
  t.notOk(check({ name: 'x', kind: 'range', range }, '-1.5'));
  t.notOk(check({ name: 'x', kind: 'range', range }, ''));
  t.ok(check({ name: 'x', kind: 'range', range, invertMatch: true }, '10'));
  t.notOk(check({ name: 'x', kind: 'range', range, invertMatch: true }, '-1'));

  // treat_missing_header_as_empty: proto examples
  const ten = { start: 0, end: 10 };
  t.ok(check({ name: 'x', kind: 'range', range: ten, invertMatch: true, treatMissingHeaderAsEmpty: true }, undefined));
  t.notOk(check({ name: 'x', kind: 'range', range: ten, invertMatch: true }, undefined));
  t.ok(check({ name: 'x', kind: 'safe_regex', value: '^$', treatMissingHeaderAsEmpty: true }, undefined));
  t.notOk(check({ name: 'x', kind: 'safe_regex', value: '^$' }, undefined));
});

t.test('multiple values of a header are joined with a comma', async (t) => {
  t.equal(headerValue({ x: ['a', 'b'] }, 'x'), 'a,b');
  t.equal(headerValue({ x: 'a' }, 'x'), 'a');
  t.equal(headerValue({ x: [] }, 'x'), undefined);
  t.equal(headerValue({}, 'x'), undefined);
  const matcher = compileHeaderMatcher(headerMatcher({ name: 'x', kind: 'exact', value: 'a,b' }));
  t.ok(matcher.matches(headerValue({ x: ['a', 'b'] }, 'x')));
});

t.test('query parameters', async (t) => {
  t.equal(queryParameterValue('/p?a=1&b=2&a=3', 'a'), '1', 'only the first value counts');
  t.equal(queryParameterValue('/p?a=1&b=2', 'b'), '2');
  t.equal(queryParameterValue('/p?flag&b=2', 'flag'), '');
  t.equal(queryParameterValue('/p?a=b=c', 'a'), 'b=c');
  t.equal(queryParameterValue('/p?ab=1', 'a'), undefined);
  t.equal(queryParameterValue('/p?A=1', 'a'), undefined, 'names are case-sensitive');
  t.equal(queryParameterValue('/p', 'a'), undefined);
  t.equal(queryParameterValue('/p?x=1#a=2', 'a'), undefined, 'the fragment is not the query');

  const debug = compileQueryParameterMatcher({ name: 'debug', presentMatch: true });
  t.ok(debug('/x?debug'));
  t.ok(debug('/x?y=1&debug=0'));
  t.notOk(debug('/x?y=1'));
  const version = compileQueryParameterMatcher({
    name: 'v',
    presentMatch: false,
    stringMatch: { kind: 'prefix', value: '2', ignoreCase: false },
  });
  t.ok(version('/x?v=2.1'));
  t.notOk(version('/x?v=1.9'));
  t.notOk(version('/x'));
});

t.test('port detection', async (t) => {
  t.equal(portStart('foo.com:8080'), 7);
  t.equal(portStart('foo.com'), -1);
  t.equal(portStart('[::1]:80'), 5);
  t.equal(portStart('[::1]'), -1);
  t.equal(portStart('::1'), -1, 'an IPv6 literal without brackets has no port');
  t.equal(portStart('foo:*'), -1);
});

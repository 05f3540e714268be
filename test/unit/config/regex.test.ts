// RE2 patterns in JavaScript: the rewrites, and what RE2 refuses.
import t from 'tap';
import { compileRe2, re2ToJs } from '../../../proxy/config/regex.ts';

t.test('RE2 syntax becomes its JS equivalent', async (t) => {
  t.same(re2ToJs('(?P<version>v[0-9]+)'), { source: '(?<version>v[0-9]+)', flags: '' });
  t.same(re2ToJs('(?i)^/api'), { source: '^/api', flags: 'i' });
  t.same(re2ToJs('\\A/a\\z'), { source: '^/a$', flags: '' });
  t.same(re2ToJs('[[:alpha:]_]+'), { source: '[a-zA-Z_]+', flags: '' });
  t.same(re2ToJs('\\Q1.5+\\E!'), { source: '1\\.5\\+!', flags: '' });
  t.same(re2ToJs('[]a]'), { source: '[\\]a]', flags: '' }, 'a leading ] in a class is a literal');
});

t.test('full match, as Envoy matches routes and headers', async (t) => {
  const re = compileRe2('/v[0-9]+', { fullMatch: true });
  t.ok(re.test('/v12'));
  t.notOk(re.test('/v12/users'));
  t.notOk(compileRe2('a|b', { fullMatch: true }).test('ab'), 'alternation stays inside the anchors');
  t.equal('/a/a'.replace(compileRe2('a', { global: true }), 'b'), '/b/b');
});

t.test('constructs RE2 refuses', async (t) => {
  t.throws(() => re2ToJs('(?=x)'), /lookahead/);
  t.throws(() => re2ToJs('(?<!x)y'), /lookbehind/);
  t.throws(() => re2ToJs('(a)\\1'), /backreferences/);
  t.throws(() => re2ToJs('(?>a)'), /atomic/);
  t.throws(() => re2ToJs('(?U)a+'), /ungreedy/);
});

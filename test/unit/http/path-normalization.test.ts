import t from 'tap';
import { normalizeRequestPath } from '../../../proxy/http/path-normalization.ts';

const cases: [string, boolean, boolean, string][] = [
  ['/a/../admin', true, false, '/admin'],
  ['/a/./b/../c?x=../y', true, false, '/a/c?x=../y'],
  ['/../..', true, false, '/'],
  ['/a/b/..', true, false, '/a/'],
  ['//admin//x', false, true, '/admin/x'],
  ['//a/..//b', true, true, '/b'],
  ['/a/../b', false, false, '/a/../b'],
  ['/plain?q=1', true, true, '/plain?q=1'],
];
for (const [input, normalize, merge, want] of cases) t.equal(normalizeRequestPath(input, normalize, merge), want, `${input} (normalize ${normalize}, merge ${merge})`);

// The rate limit service's config: envoyproxy/ratelimit's YAML files, their checks, and the
// lookup of a request descriptor's limit.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseConfigText } from '../../../proxy/config/index.ts';
import { Limits, type Descriptor } from '../../../proxy/ratelimit/index.ts';

function limits(...texts: string[]): Limits {
  return Limits.fromFiles(texts.map((text, i) => parseConfigText(text, `limits${i}.yaml`)));
}

function d(...pairs: [string, string][]): Descriptor {
  return pairs.map(([key, value]) => ({ key, value }));
}

const EDGE = `
domain: edge
descriptors:
  - key: remote_address
    rate_limit: { unit: second, requests_per_unit: 10 }
  - key: tenant
    value: gold
    rate_limit: { unit: minute, requests_per_unit: 1000, name: gold }
  - key: tenant
    rate_limit: { unit: minute, requests_per_unit: 100 }
    detailed_metric: true
  - key: path
    value: /api/*
    rate_limit: { unit: hour, requests_per_unit: 50 }
  - key: database
    value: users
    descriptors:
      - key: operation
        rate_limit: { unit: day, requests_per_unit: 7 }
        shadow_mode: true
  - key: internal
    rate_limit: { unlimited: true }
  - key: port
    value: 80
    rate_limit: { unit: SECOND, requests_per_unit: 3 }
`;

t.test('a descriptor finds its limit by key_value, then wildcard, then bare key', async (t) => {
  const l = limits(EDGE);
  const gold = l.lookup('edge', d(['tenant', 'gold']));
  t.equal(gold?.limit.fullKey, 'edge.tenant_gold');
  t.equal(gold?.limit.requestsPerUnit, 1000);
  t.equal(gold?.limit.unit, 'minute');
  t.equal(gold?.limit.name, 'gold');
  t.equal(gold?.statsKey, 'edge.tenant_gold');

  // The bare key is the default for any other value; detailed_metric counts it per value.
  const silver = l.lookup('edge', d(['tenant', 'silver']));
  t.equal(silver?.limit.fullKey, 'edge.tenant');
  t.equal(silver?.statsKey, 'edge.tenant_silver');
  t.equal(l.lookup('edge', d(['remote_address', '10.0.0.1']))?.statsKey, 'edge.remote_address', 'no detailed_metric: one stats key');

  t.equal(l.lookup('edge', d(['path', '/api/users']))?.limit.fullKey, 'edge.path_/api/*', 'wildcard by prefix');
  t.equal(l.lookup('edge', d(['path', '/web'])), undefined, 'no wildcard match, no bare key');
  t.equal(l.lookup('edge', d(['port', '80']))?.limit.unit, 'second', 'numbers as values, units in any case');
  t.equal(l.lookup('edge', d(['internal', 'x']))?.limit.unlimited, true);
});

t.test('only a limit at the request descriptor\'s own depth applies', async (t) => {
  const l = limits(EDGE);
  const nested = l.lookup('edge', d(['database', 'users'], ['operation', 'write']));
  t.equal(nested?.limit.fullKey, 'edge.database_users.operation');
  t.equal(nested?.limit.shadowMode, true);
  t.equal(l.lookup('edge', d(['database', 'users'])), undefined, 'the parent level has no limit');
  t.equal(l.lookup('edge', d(['tenant', 'gold'], ['extra', 'x'])), undefined, 'deeper than the config: no limit');
  t.equal(l.lookup('edge', d(['database', 'orders'], ['operation', 'write'])), undefined);
  t.equal(l.lookup('other', d(['tenant', 'gold'])), undefined, 'unknown domain');
  t.ok(l.hasDomain('edge'));
  t.notOk(l.hasDomain('other'));
  t.same(
    l.all().map((r) => r.fullKey).sort(),
    ['edge.database_users.operation', 'edge.internal', 'edge.path_/api/*', 'edge.port_80', 'edge.remote_address', 'edge.tenant', 'edge.tenant_gold'],
  );
});

t.test('replaces lists the names a limit replaces', async (t) => {
  const l = limits(`
domain: d
descriptors:
  - key: a
    rate_limit: { unit: second, requests_per_unit: 1, name: a, replaces: [{ name: b }] }
`);
  t.same(l.lookup('d', d(['a', 'x']))?.limit.replaces, ['b']);
});

t.test('a bad file is one line naming file, line and field', async (t) => {
  const cases: [string, RegExp][] = [
    ['descriptors: []', /limits0\.yaml:1: domain: config file cannot have empty domain/],
    ['domain: d\nrate: 1', /limits0\.yaml:2: rate: unknown key 'rate'/],
    ['domain: d\ndescriptors:\n  - value: x', /descriptors\[0\]\.key: descriptor has empty key/],
    ['domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unit: fortnight, requests_per_unit: 1 }', /limits0\.yaml:4: descriptors\[0\]\.rate_limit\.unit: invalid rate limit unit 'fortnight'/],
    ['domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unit: second, unlimited: true }', /should not specify rate limit unit when unlimited/],
    ['domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unit: second, requests_per_unit: -1 }', /requests_per_unit: expected a whole number/],
    ['domain: d\ndescriptors:\n  - key: a\n  - key: a', /duplicate descriptor composite key 'd\.a'/],
    ['domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unit: second, requests_per_unit: 1, replaces: [{ name: "" }] }', /should not have an empty replaces entry/],
    ['domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unit: second, requests_per_unit: 1, name: a, replaces: [{ name: a }] }', /replaces should not contain name of same descriptor/],
    ['domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unit: second, requests_per_unit: 1 }\n    shadow_mode: yes please', /shadow_mode: expected true or false/],
  ];
  for (const [text, message] of cases) {
    t.throws(() => limits(text), { name: 'ConfigError', message }, text);
  }
  t.throws(() => limits('domain: d', 'domain: d'), { message: /limits1\.yaml:1: domain: duplicate domain 'd'/ });
});

t.test('a directory loads every .yaml and .yml file; a missing path is a clear error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-limits-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.yaml'), 'domain: a\ndescriptors: [{ key: k, rate_limit: { unit: second, requests_per_unit: 1 } }]\n');
  writeFileSync(join(dir, 'b.yml'), 'domain: b\ndescriptors: [{ key: k, rate_limit: { unit: second, requests_per_unit: 2 } }]\n');
  writeFileSync(join(dir, 'notes.txt'), 'not a limits file');
  const l = Limits.load(dir);
  t.equal(l.lookup('a', d(['k', 'v']))?.limit.requestsPerUnit, 1);
  t.equal(l.lookup('b', d(['k', 'v']))?.limit.requestsPerUnit, 2);
  t.equal(Limits.load(join(dir, 'a.yaml')).hasDomain('b'), false);
  t.throws(() => Limits.load(join(dir, 'missing.yaml')), { message: /missing\.yaml: cannot read rate limit config \(ENOENT\)/ });
});

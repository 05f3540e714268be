import { readFileSync, writeFileSync } from 'node:fs';
import { loadBootstrap } from '../proxy/config/index.ts';
const base = readFileSync('scratch_cfg_tmp/b.yaml', 'utf8');
const cases: [string, string][] = [
  ['weight 90', 'weight: 90, foo: 1'],
  ['connect_timeout: 0.25s', 'connect_timeout: 5'],
  ['connect_timeout: 0.25s', 'connect_timeout: 5m'],
  ['name: app_v2', 'name: app_v1'],
  ['{ name: app_v2, weight: 10 }', '{ name: app_v3, weight: 10 }'],
  ['port_value: 10000', 'port_value: 100000'],
  ['lb_policy: ROUND_ROBIN', 'lb_policy: ROUND'],
  ['envoy.extensions.filters.http.router.v3.Router', 'envoy.extensions.filters.http.cors.v3.Cors'],
  ['prefix: "/healthz"', 'safe_regex: { regex: "/(?=x)" }'],
  ['prefix: "/healthz"', 'safe_regex: { regex: "/(x" }'],
  ['    address:\n      socket_address: { address: 0.0.0.0, port_value: 10000 }\n', ''],
  ['retry_on: "5xx,connect-failure"', 'retry_on: "5xx,bogus"'],
  ['status: 200', 'status: 99'],
  ['stat_prefix: ingress_http', 'stat_prefix: ingress_http\n          tracing: {}\n          via: x'],
  ['- { name: app_v1, weight: 90 }', '- { name: app_v1, weight: "x" }'],
];
for (const [from, to] of cases) {
  if (!base.includes(from)) { console.log('MISSING', from); continue; }
  writeFileSync('scratch_cfg_tmp/c.yaml', base.replace(from, to));
  try { loadBootstrap('scratch_cfg_tmp/c.yaml'); console.log('NO ERROR for', to); } catch (e: any) { console.log(e.name === 'ConfigError' ? '' : 'NOT CONFIGERROR', e.message); }
}

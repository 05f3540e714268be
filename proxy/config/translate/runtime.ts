// envoy.config.bootstrap.v3.LayeredRuntime -> the model: static layers flattened to dotted keys
// (a {numerator, denominator} struct stays one FractionalPercent value, as Envoy reads it) and at
// most one admin layer. Disk and RTDS layers are not built: rejected by name.
import { indexPath, joinPath } from '../errors.ts';
import type { RuntimeLayerConfig, RuntimeValue } from '../model.ts';
import { list, obj, reject, str, type Raw } from './common.ts';

const DENOMINATORS = new Set(['HUNDRED', 'TEN_THOUSAND', 'MILLION']);

export function translateLayeredRuntime(raw: Raw | undefined, path: string): RuntimeLayerConfig[] {
  if (raw === undefined) return [];
  const layersPath = joinPath(path, 'layers');
  const names = new Set<string>();
  let admin = false;
  return list(raw, 'layers').map((layer, i) => {
    const at = indexPath(layersPath, i);
    const name = str(layer, 'name');
    if (names.has(name)) reject(joinPath(at, 'name'), `duplicate runtime layer '${name}'`, 'give each layer its own name');
    names.add(name);
    if (layer.disk_layer !== undefined) reject(joinPath(at, 'disk_layer'), 'not supported by Legate: runtime disk layers', 'use a static_layer, or an admin_layer and /runtime_modify');
    if (layer.rtds_layer !== undefined) reject(joinPath(at, 'rtds_layer'), 'not supported by Legate: runtime RTDS layers', 'use a static_layer, or an admin_layer and /runtime_modify');
    if (layer.admin_layer !== undefined) {
      if (admin) reject(joinPath(at, 'admin_layer'), 'only one admin layer may be configured', 'remove this one');
      admin = true;
      return { name, kind: 'admin' };
    }
    const values: Record<string, RuntimeValue> = {};
    flatten(obj(layer, 'static_layer') ?? {}, '', values, joinPath(at, 'static_layer'));
    return { name, kind: 'static', values };
  });
}

function flatten(struct: Raw, prefix: string, out: Record<string, RuntimeValue>, path: string): void {
  for (const [key, value] of Object.entries(struct)) {
    const full = prefix === '' ? key : `${prefix}.${key}`;
    const at = joinPath(path, key);
    if (value === null) continue;
    if (Array.isArray(value)) reject(at, 'a runtime value cannot be a list', 'give a string, number, boolean or {numerator, denominator}');
    if (typeof value === 'object') {
      const v = value as Raw;
      if (typeof v.numerator === 'number') out[full] = fractionalPercent(v, at);
      else flatten(v, full, out, at);
      continue;
    }
    out[full] = value as RuntimeValue;
  }
}

function fractionalPercent(raw: Raw, path: string): RuntimeValue {
  const denominator = String(raw.denominator ?? 'HUNDRED').toUpperCase();
  if (!DENOMINATORS.has(denominator)) reject(joinPath(path, 'denominator'), `unknown denominator '${denominator}'`, 'use HUNDRED, TEN_THOUSAND or MILLION');
  const extra = Object.keys(raw).find((k) => k !== 'numerator' && k !== 'denominator');
  if (extra !== undefined) reject(joinPath(path, extra), `unknown field '${extra}' in a fractional percent`, 'give numerator and denominator only');
  return { numerator: raw.numerator as number, denominator: denominator as 'HUNDRED' };
}

// Envoy's access log filters, compiled once into a predicate over the finished stream.
import type { AccessLogFilter } from '../config/model.ts';
import { responseFlagBit } from './response-flags.ts';
import type { StreamInfo } from './stream-info.ts';

export function compileFilter(filter: AccessLogFilter): (info: StreamInfo) => boolean {
  switch (filter.kind) {
    case 'status_code': {
      const cmp = comparison(filter.op, filter.value);
      return (info) => cmp(info.responseCode);
    }
    case 'duration': {
      // Envoy compares whole milliseconds; a stream still running counts its duration so far.
      const cmp = comparison(filter.op, filter.value);
      return (info) => cmp(Math.floor(info.durationMs ?? info.elapsedMs()));
    }
    case 'not_health_check':
      return (info) => !info.healthCheck;
    case 'response_flag': {
      let mask = 0;
      for (const flag of filter.flags) {
        const bit = responseFlagBit(flag);
        if (bit === 0) throw new Error(`access log filter: unknown response flag "${flag}"`);
        mask |= bit;
      }
      // No flags listed: any flag set passes.
      if (mask === 0) return (info) => info.responseFlags !== 0;
      return (info) => (info.responseFlags & mask) !== 0;
    }
    case 'and': {
      const all = filter.filters.map(compileFilter);
      return (info) => all.every((f) => f(info));
    }
    case 'or': {
      const any = filter.filters.map(compileFilter);
      return (info) => any.some((f) => f(info));
    }
  }
}

function comparison(op: 'EQ' | 'GE' | 'LE', value: number): (actual: number) => boolean {
  switch (op) {
    case 'EQ':
      return (actual) => actual === value;
    case 'GE':
      return (actual) => actual >= value;
    case 'LE':
      return (actual) => actual <= value;
  }
}

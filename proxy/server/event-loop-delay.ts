// This process's event-loop delay between two reads (p99 and max, in ms), for /server_info's
// per-worker memory figures: a soak or an operator polling it sees how late the loop ran in each
// interval. The monitor starts on the first read (that read reports zeros).
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopDelay {
  event_loop_delay_p99_ms: number;
  event_loop_delay_max_ms: number;
}

let histogram: ReturnType<typeof monitorEventLoopDelay> | undefined;

export function eventLoopDelaySinceLastRead(): EventLoopDelay {
  if (histogram === undefined) {
    histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    return { event_loop_delay_p99_ms: 0, event_loop_delay_max_ms: 0 };
  }
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const delay = { event_loop_delay_p99_ms: ms(histogram.percentile(99)), event_loop_delay_max_ms: ms(histogram.max) };
  histogram.reset();
  return delay;
}

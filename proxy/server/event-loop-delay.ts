// This process's event-loop delay between two reads (p99 and max, in ms), for /server_info's
// per-worker memory figures: a soak or an operator polling it sees how late the loop ran in each
// interval. The monitor starts on the first read (that read reports zeros).
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopDelay {
  event_loop_delay_p99_ms: number;
  event_loop_delay_max_ms: number;
}

const RESOLUTION_MS = 10;
let histogram: ReturnType<typeof monitorEventLoopDelay> | undefined;

export function eventLoopDelaySinceLastRead(): EventLoopDelay {
  if (histogram === undefined) {
    histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    histogram.enable();
    return { event_loop_delay_p99_ms: 0, event_loop_delay_max_ms: 0 };
  }
  // The monitor records each timer tick's whole interval: the delay is what exceeds the resolution.
  const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);
  const delay = { event_loop_delay_p99_ms: ms(histogram.percentile(99)), event_loop_delay_max_ms: ms(histogram.max) };
  histogram.reset();
  return delay;
}

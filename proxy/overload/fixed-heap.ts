// envoy.resource_monitors.fixed_heap: the V8 heap in use against max_heap_size_bytes. Envoy
// counts the allocator's heap less its free pages; in Node the closest figure is V8's
// used_heap_size (live objects and garbage not yet collected). Buffers outside the V8 heap
// (socket data) are not in it: RSS is, but RSS does not shrink on demand, so it is not used.
import { getHeapStatistics } from 'node:v8';
import type { ResourceMonitor } from './monitor.ts';

export class FixedHeapMonitor implements ResourceMonitor {
  readonly name = 'envoy.resource_monitors.fixed_heap';
  private readonly maxBytes: number;

  constructor(maxHeapSizeBytes: number) {
    this.maxBytes = maxHeapSizeBytes;
  }

  pressure(): number {
    return getHeapStatistics().used_heap_size / this.maxBytes;
  }
}

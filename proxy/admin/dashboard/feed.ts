// The dashboard's server-sent events: one frame a second, sampled once and sent to every page that
// is open. The timer starts with the first client and stops with the last, so nothing is sampled
// while nobody looks; frames are chained (the next is scheduled when one is sent), so a slow sample
// (workers answering over IPC) never overlaps the next.
import type { AdminContext, AdminSink } from '../context.ts';
import { buildFrame, type Totals } from './frame.ts';

/** A client whose socket holds this much unsent skips frames until it catches up. */
const MAX_BUFFERED_BYTES = 1 << 20;

export class DashboardFeed {
  readonly #ctx: AdminContext;
  readonly #intervalMs: number;
  readonly #clients = new Set<AdminSink>();
  #timer: NodeJS.Timeout | undefined;
  #sampling = false;
  #previous: Totals | null = null; // the last frame's counters, for rates
  #baseline = new Map<string, number>(); // counters when the stream started, for the observed split
  #latest: string | undefined; // the last event, so a page that joins shows something at once

  constructor(ctx: AdminContext, intervalMs = 1000) {
    this.#ctx = ctx;
    this.#intervalMs = intervalMs;
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** A timer is set or a sample is in flight: false whenever no client is connected (once a sample in flight ends). */
  get running(): boolean {
    return this.#timer !== undefined || this.#sampling;
  }

  attach(sink: AdminSink): void {
    this.#clients.add(sink);
    sink.onClose(() => this.#detach(sink));
    sink.write('retry: 2000\n\n');
    if (this.#latest !== undefined) sink.write(this.#latest);
    if (this.#clients.size === 1) this.#tick();
  }

  #detach(sink: AdminSink): void {
    this.#clients.delete(sink);
    if (this.#clients.size > 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#sampling) this.#reset();
  }

  /** Nobody watches: the next stream starts afresh (its rates and split from its own start). */
  #reset(): void {
    this.#previous = null;
    this.#baseline = new Map();
    this.#latest = undefined;
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#clients.size === 0 || this.#sampling) return;
    this.#sampling = true;
    const started = Date.now();
    this.#sample().then(
      (event) => this.#broadcast(event),
      (err: Error) => this.#broadcast(`event: failure\ndata: ${JSON.stringify(err.message)}\n\n`),
    ).finally(() => {
      this.#sampling = false;
      if (this.#clients.size === 0) return this.#reset();
      this.#timer = setTimeout(() => this.#tick(), Math.max(0, this.#intervalMs - (Date.now() - started)));
    });
  }

  #broadcast(event: string): void {
    this.#latest = event;
    for (const sink of this.#clients) if (sink.buffered() < MAX_BUFFERED_BYTES) sink.write(event);
  }

  async #sample(): Promise<string> {
    const ctx = this.#ctx;
    const [stats, clusters, memory] = await Promise.all([ctx.stats(), ctx.clusters(), ctx.memory?.()]);
    const input = {
      now: Date.now(),
      state: ctx.state,
      startTime: ctx.startTime,
      nodeId: ctx.node.id,
      pid: process.pid,
      snapshot: ctx.snapshot,
      boundPorts: new Map((ctx.applied?.listeners ?? []).map((l) => [l.name, l.port])),
      stats,
      clusters,
      memory,
      xds: ctx.xdsStatus?.(),
    };
    const { frame, totals } = buildFrame(input, this.#previous, this.#baseline);
    this.#previous = totals;
    return `data: ${JSON.stringify(frame)}\n\n`;
  }
}

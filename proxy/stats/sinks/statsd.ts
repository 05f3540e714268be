// Envoy's UdpStatsdSink, behind envoy.stat_sinks.statsd and envoy.stat_sinks.dog_statsd. Lines are
// `prefix.name:value|type`: counters `|c` (the change since the last flush), gauges `|g`, and each
// histogram value `|ms` as it is recorded. statsd sends full names (explicitly tagged stats in the
// /stats form); dog_statsd sends tag-extracted names with DogStatsD tags after the type
// (`|#envoy.cluster_name:backend,...`), extracted as the admin's Prometheus output does.
import type { Histogram } from '../histogram.ts';
import type { TagProducer } from '../tags.ts';
import { displayStatName } from '../tagged-name.ts';
import type { MetricSnapshot } from './metric-snapshot.ts';
import type { StatsdSinkConfig, StatsSink } from './sink.ts';
import type { DatagramWriter } from './udp-writer.ts';

export class UdpStatsdSink implements StatsSink {
  readonly wantsHistograms = false; // histogram values go out as they are recorded
  readonly #prefix: string;
  readonly #tags: TagProducer | null;
  readonly #maxBytes: number;
  readonly #writer: DatagramWriter;
  // Histogram lines by histogram, built once: a value costs one concatenation and one send.
  readonly #histogramParts = new WeakMap<Histogram, { head: string; tail: string }>();

  /** `tags`: the bootstrap's tag extraction, for dog_statsd; null for plain statsd. */
  constructor(config: StatsdSinkConfig, tags: TagProducer | null, writer: DatagramWriter) {
    this.#prefix = config.prefix;
    this.#tags = tags;
    this.#maxBytes = config.maxBytesPerDatagram;
    this.#writer = writer;
  }

  flush(snapshot: MetricSnapshot): void {
    const batch = new Batch(this.#maxBytes, this.#writer);
    for (const c of snapshot.counters) batch.add(this.#line(c.name, c.delta, '|c'));
    for (const g of snapshot.gauges) batch.add(this.#line(g.name, g.value, '|g'));
    batch.end();
  }

  onHistogramComplete(histogram: Histogram, value: number): void {
    let parts = this.#histogramParts.get(histogram);
    if (parts === undefined) {
      const [name, tags] = this.#nameAndTags(histogram.name);
      parts = { head: `${this.#prefix}.${name}:`, tail: `|ms${tags}` };
      this.#histogramParts.set(histogram, parts);
    }
    // Envoy's timers hold whole milliseconds (and its other histograms whole numbers).
    this.#writer.write(parts.head + Math.trunc(value) + parts.tail);
  }

  close(): void {
    this.#writer.close();
  }

  #line(statName: string, value: number, type: string): string {
    const [name, tags] = this.#nameAndTags(statName);
    return `${this.#prefix}.${name}:${value}${type}${tags}`;
  }

  #nameAndTags(statName: string): [name: string, tags: string] {
    if (this.#tags === null) return [displayStatName(statName), ''];
    const { extracted, tags } = this.#tags.extract(statName);
    return [extracted, tags.length === 0 ? '' : '|#' + tags.map((t) => `${t.name}:${t.value}`).join(',')];
  }
}

/**
 * Envoy's datagram packing: lines joined by newlines up to max_bytes_per_datagram; a line as long
 * as the limit or longer goes alone. With no limit (0) every line is its own datagram.
 */
class Batch {
  readonly #max: number;
  readonly #writer: DatagramWriter;
  #buffer = '';
  #bytes = 0;

  constructor(max: number, writer: DatagramWriter) {
    this.#max = max;
    this.#writer = writer;
  }

  add(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (bytes >= this.#max) {
      this.#writer.write(line);
      return;
    }
    if (this.#bytes + bytes + 1 > this.#max) this.end();
    this.#buffer = this.#bytes === 0 ? line : this.#buffer + '\n' + line;
    this.#bytes += this.#bytes === 0 ? bytes : bytes + 1;
  }

  end(): void {
    if (this.#bytes > 0) this.#writer.write(this.#buffer);
    this.#buffer = '';
    this.#bytes = 0;
  }
}

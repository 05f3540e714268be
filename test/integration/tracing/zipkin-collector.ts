// A Zipkin collector for tests: POST /api/v2/spans takes a JSON array of v2 spans and answers 202,
// as Zipkin does. Tests wait on the spans' arrival, not on time.
import { EventEmitter } from 'node:events';
import { startUpstream, type Upstream } from '../../support/upstream.ts';

export interface ReceivedSpan {
  traceId: string;
  parentId?: string;
  id: string;
  kind: 'SERVER' | 'CLIENT';
  name: string;
  timestamp: number;
  duration: number;
  localEndpoint: { serviceName: string; ipv4?: string };
  tags: Record<string, string>;
  shared?: boolean;
}

export interface ZipkinCollector {
  upstream: Upstream;
  spans: ReceivedSpan[];
  /** The bodies' content types and paths, one per POST. */
  posts: { path: string; contentType: string; count: number }[];
  /** Resolves once `count` spans in all have arrived; rejects after timeoutMs. */
  waitForSpans(count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startZipkinCollector(): Promise<ZipkinCollector> {
  const spans: ReceivedSpan[] = [];
  const posts: ZipkinCollector['posts'] = [];
  const events = new EventEmitter();
  const upstream = await startUpstream('zipkin', (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.once('end', () => {
      const batch = JSON.parse(body) as ReceivedSpan[];
      posts.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), count: batch.length });
      spans.push(...batch);
      res.writeHead(202, { 'content-length': '0' });
      res.end();
      events.emit('spans');
    });
  });
  return {
    upstream,
    spans,
    posts,
    waitForSpans: (count, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          if (spans.length < count) return false;
          clearTimeout(timer);
          events.off('spans', check);
          resolve(spans.slice(0, count));
          return true;
        };
        const timer = setTimeout(() => {
          events.off('spans', check);
          reject(new Error(`collector: ${spans.length} of ${count} spans within ${timeoutMs} ms`));
        }, timeoutMs);
        if (!check()) events.on('spans', check);
      }),
    close: () => upstream.close(),
  };
}

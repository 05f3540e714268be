// An upstream that answers from a script: each request takes the next step (a status, or 'hang'
// to never answer), then 200 once the script is used up. It records when each request arrived
// and its body, so tests can count attempts and measure the gaps between them.
import type { ServerResponse } from 'node:http';
import { startUpstream, type Upstream } from './upstream.ts';

export type Step = number | 'hang';

export interface ScriptedUpstream extends Upstream {
  /** Replaces the script and forgets earlier requests. */
  script(steps: Step[]): void;
  arrivals: number[]; // performance.now() per request
  bodies: string[];
}

export async function startScriptedUpstream(name: string): Promise<ScriptedUpstream> {
  let steps: Step[] = [];
  const arrivals: number[] = [];
  const bodies: string[] = [];
  const hanging: ServerResponse[] = [];
  const upstream = await startUpstream(name, (req, res) => {
    arrivals.push(performance.now());
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.once('end', () => {
      bodies.push(body);
      const step = steps.shift() ?? 200;
      if (step === 'hang') {
        hanging.push(res);
        return;
      }
      const text = `${name} ${step}`;
      res.writeHead(step, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  return {
    ...upstream,
    arrivals,
    bodies,
    script(next: Step[]) {
      steps = [...next];
      upstream.seen.length = 0;
      arrivals.length = 0;
      bodies.length = 0;
    },
    close() {
      for (const res of hanging) res.destroy();
      return upstream.close();
    },
  };
}

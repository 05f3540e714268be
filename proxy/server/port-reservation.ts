// Port 0 with one SO_REUSEPORT socket per worker would give each worker a different port. So the
// primary picks the port first: it binds port 0 with SO_REUSEPORT, writes the port it got into
// the snapshot, and closes its own socket once the workers are bound to the same port.
import net from 'node:net';
import type { Snapshot } from '../config/snapshot.ts';

export interface Reservation {
  snapshot: Snapshot;
  release(): Promise<void>;
}

export async function reservePorts(snapshot: Snapshot): Promise<Reservation> {
  const holders: net.Server[] = [];
  const listeners = [];
  for (const listener of snapshot.listeners) {
    if (listener.address.port !== 0 || !listener.bindToPort) {
      listeners.push(listener);
      continue;
    }
    const holder = net.createServer();
    await new Promise<void>((resolve, reject) => {
      holder.once('error', reject);
      holder.listen({ host: listener.address.address, port: 0, reusePort: true, exclusive: true }, resolve);
    });
    holders.push(holder);
    const port = (holder.address() as net.AddressInfo).port;
    listeners.push({ ...listener, address: { ...listener.address, port } });
  }
  return {
    snapshot: { ...snapshot, listeners },
    release: () => Promise.all(holders.map((h) => new Promise<void>((resolve) => h.close(() => resolve())))).then(() => undefined),
  };
}

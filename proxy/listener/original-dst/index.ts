import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/** A connection's destination before iptables redirected it. */
export interface SocketAddress {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

interface Addon {
  getOriginalDst(fd: number): SocketAddress | null;
}

// Node gives no public way to a socket's fd; on Linux its libuv handle carries it.
interface SocketWithHandle {
  _handle?: { fd?: number } | null;
}

const addonFile = './build/Release/original_dst.node';
const loaded = load();

function load(): { addon: Addon } | { reason: string } {
  if (process.platform !== 'linux') {
    return { reason: `original_dst needs Linux (SO_ORIGINAL_DST); this is ${process.platform}` };
  }
  try {
    return { addon: createRequire(import.meta.url)(addonFile) as Addon };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      reason:
        code === 'MODULE_NOT_FOUND'
          ? 'the original_dst addon is not built: run node proxy/addons/build.ts (needs a C compiler and python3)'
          : `the original_dst addon did not load: ${(error as Error).message.split('\n')[0]}`,
    };
  }
}

/** Whether originalDst() can work here; if not, why, in one line. */
export function originalDstAvailable(): { ok: boolean; reason?: string } {
  return 'addon' in loaded ? { ok: true } : { ok: false, reason: loaded.reason };
}

/**
 * The address:port the client dialled before an iptables REDIRECT/DNAT sent its connection here,
 * read from conntrack. Null when the connection was not redirected and no conntrack entry exists,
 * when the socket has no fd (closed, or not a TCP socket), or when the addon is unavailable.
 */
export function originalDst(socket: Socket): SocketAddress | null {
  if (!('addon' in loaded)) return null;
  const fd = (socket as unknown as SocketWithHandle)._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  return loaded.addon.getOriginalDst(fd);
}

// The datagram socket a statsd sink writes through: one per sink and process, unconnected, unref'd
// (a sink never keeps Legate alive). Sends are fire and forget as Envoy's are: a collector that is
// down loses the datagrams, and the proxy does not notice.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

export interface DatagramWriter {
  write(datagram: string): void;
  close(): void;
}

export function udpWriter(address: { address: string; port: number }): DatagramWriter {
  let socket: Socket | null = null;
  const open = (): Socket => {
    const s = createSocket(isIPv6(address.address) ? 'udp6' : 'udp4');
    s.on('error', () => undefined); // ICMP unreachable and the like: statsd is lossy by design
    s.unref();
    return s;
  };
  return {
    write(datagram) {
      (socket ??= open()).send(datagram, address.port, address.address);
    },
    close() {
      socket?.close();
      socket = null;
    },
  };
}

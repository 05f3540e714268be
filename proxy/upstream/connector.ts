// The connector behind each upstream HTTP pool. undici runs its own connect timeout on a coarse
// timer (ticks of about half a second), so a 500 ms connect_timeout could take a second. Envoy's
// is exact, and a sidecar retrying on another instance should wait no longer than configured: so
// the connect timeout here is a plain timer, and undici's is off.
import type { Socket } from 'node:net';
import { buildConnector, errors } from 'undici';

type Connect = (options: buildConnector.Options, callback: buildConnector.Callback) => Socket;

export function createConnector(connectTimeoutMs: number, allowH2: boolean): buildConnector.connector {
  // undici's connector returns the socket it is connecting (its type says void).
  const connect = buildConnector({ timeout: 0, noDelay: true, allowH2 }) as unknown as Connect;
  return (options, callback) => {
    let settled = false;
    const settle: buildConnector.Callback = (...args) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      callback(...args);
    };
    const socket = connect(options, settle);
    const timer = setTimeout(() => {
      socket.destroy();
      settle(new errors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${options.hostname}:${options.port}, timeout: ${connectTimeoutMs}ms)`), null);
    }, connectTimeoutMs);
  };
}

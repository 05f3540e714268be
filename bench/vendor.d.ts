// The parts of untyped bench dependencies that bench uses.

declare module 'http-proxy' {
  import type http from 'node:http';
  import type net from 'node:net';

  interface ProxyServerOptions {
    target: string;
    agent?: http.Agent;
  }
  interface ProxyServer {
    web(req: http.IncomingMessage, res: http.ServerResponse): void;
    on(
      event: 'error',
      listener: (error: Error, req: http.IncomingMessage, res: http.ServerResponse | net.Socket) => void,
    ): this;
  }
  const httpProxy: { createProxyServer(options: ProxyServerOptions): ProxyServer };
  export default httpProxy;
}

declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface RequestData {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
  }
  interface Options {
    url: string;
    connections: number;
    duration: number;
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: Buffer;
    timeout?: number;
    sampleInt?: number;
    reconnectRate?: number;
    requests?: { setupRequest(request: RequestData): RequestData }[];
    /** Called with each of autocannon's clients right after it is constructed. */
    setupClient?(client: unknown): void;
  }
  interface Instance extends EventEmitter {
    stop(): void;
  }
  function autocannon(options: Options, done: (error: Error | null, result: unknown) => void): Instance;
  export default autocannon;
}

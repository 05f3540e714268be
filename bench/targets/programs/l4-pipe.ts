// The ceiling for any Node proxy: accept, connect upstream, pipe bytes both ways. No parsing.
import net from 'node:net';

const { upstreamPort } = JSON.parse(process.argv[2] ?? '{}') as { upstreamPort: number };

const server = net.createServer({ noDelay: true }, (downstream) => {
  const upstream = net.connect({ port: upstreamPort, host: '127.0.0.1', noDelay: true });
  const closeBoth = () => {
    downstream.destroy();
    upstream.destroy();
  };
  downstream.on('error', closeBoth).on('close', closeBoth);
  upstream.on('error', closeBoth).on('close', closeBoth);
  downstream.pipe(upstream).pipe(downstream);
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as net.AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));

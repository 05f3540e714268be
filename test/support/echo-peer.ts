// An app for e2e tests, run inside a namespace via Netns.start:
//   echo-peer.ts <host> <port>   HTTP on host:port answering 200 {headers, peer} for any request;
//                                prints {"ready":true} once listening and exits when stdin closes.
import http from 'node:http';

const [host, port] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ headers: req.headers, peer: req.socket.remoteAddress }));
});
server.listen({ host, port: Number(port) }, () => console.log(JSON.stringify({ ready: true })));
// Started with a pipe on stdin: its end means the test process is gone.
process.stdin.on('end', () => process.exit(0)).resume();

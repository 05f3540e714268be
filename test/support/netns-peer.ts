// A process run inside a test's network namespace (via Netns.start / Netns.node):
//   server <host> <label> [--original-dst]   listens on <host>:0, prints {"port":N}, and answers
//                                            each connection with one JSON line {label, originalDst},
//                                            until its stdin closes
//   client <host> <port> [--uid N]           connects (as user N if given) and prints the answer
import { connect, createServer } from 'node:net';
import { originalDst } from '../../proxy/listener/original-dst/index.ts';

const [role, host, third, ...flags] = process.argv.slice(2);

if (role === 'server') {
  const reportOriginalDst = flags.includes('--original-dst');
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.end(`${JSON.stringify({ label: third, originalDst: reportOriginalDst ? originalDst(socket) : undefined })}\n`);
  });
  // Started with a pipe on stdin: its end means the test process is gone.
  process.stdin.on('end', () => process.exit(0)).resume();
  server.listen({ host, port: 0 }, () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('not a TCP server');
    console.log(JSON.stringify({ port: address.port }));
  });
} else if (role === 'client') {
  const uidAt = flags.indexOf('--uid');
  if (uidAt !== -1) {
    const uid = Number(flags[uidAt + 1]);
    process.setgroups!([]);
    process.setgid!(uid);
    process.setuid!(uid);
  }
  let answer = '';
  const socket = connect({ host, port: Number(third), timeout: 10_000 });
  socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
  socket.on('timeout', () => socket.destroy(new Error(`no answer from ${host}:${third} within 10 s`)));
  socket.on('end', () => process.stdout.write(answer));
  socket.on('error', (error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
} else {
  console.error(`unknown role ${role}: expected server or client`);
  process.exitCode = 2;
}

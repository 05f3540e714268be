import t from 'tap';
import { GrpcFrameCounter } from '../../../proxy/grpc/index.ts';

const frame = (payload: number[]) => Buffer.from([0, 0, 0, (payload.length >> 8) & 255, payload.length & 255, ...payload]);

t.test('whole messages in one chunk', async (t) => {
  const counter = new GrpcFrameCounter();
  t.equal(counter.inspect(Buffer.concat([frame([1, 2, 3]), frame([]), frame([9])])), 3);
  t.equal(counter.count, 3);
});

t.test('messages split anywhere across chunks count once, when they begin', async (t) => {
  const bytes = Buffer.concat([frame(Array.from({ length: 300 }, (_, i) => i & 255)), frame([7, 7])]);
  for (let cut = 1; cut < bytes.length; cut += 37) {
    const counter = new GrpcFrameCounter();
    const first = counter.inspect(bytes.subarray(0, cut));
    const second = counter.inspect(bytes.subarray(cut));
    t.equal(counter.count, 2, `cut at ${cut}`);
    t.equal(first + second, 2);
  }
  const byteByByte = new GrpcFrameCounter();
  for (const b of bytes) byteByByte.inspect(Buffer.from([b]));
  t.equal(byteByByte.count, 2, 'one byte at a time');
});

t.test('a length prefix across chunks is read whole', async (t) => {
  const counter = new GrpcFrameCounter();
  const big = frame(Array.from({ length: 0x1234 }, () => 1));
  t.equal(counter.inspect(big.subarray(0, 3)), 1);
  t.equal(counter.inspect(big.subarray(3, 0x1000)), 0);
  t.equal(counter.inspect(Buffer.concat([big.subarray(0x1000), frame([1])])), 1, 'the next message after the long one');
  t.equal(counter.count, 2);
});

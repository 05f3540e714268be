// The hand-encoded grpc.health.v1 messages: the request as protobuf encodes it, the response read
// across chunk boundaries, unknown fields skipped, and the bodies Envoy refuses.
import t from 'tap';
import { healthCheckRequestFrame, HealthResponseReader, servingStatus } from '../../../proxy/upstream/grpc-health-message.ts';

const frame = (message: number[], flags = 0) => {
  const header = Buffer.alloc(5);
  header[0] = flags;
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, Buffer.from(message)]);
};

t.test('HealthCheckRequest: field 1 when a service is named, an empty message otherwise', async (t) => {
  t.same([...healthCheckRequestFrame('')], [0, 0, 0, 0, 0]);
  t.same([...healthCheckRequestFrame('a.B')], [0, 0, 0, 0, 5, 0x0a, 3, 0x61, 0x2e, 0x42]);
  const long = 'x'.repeat(200); // a two-byte length varint
  t.same([...healthCheckRequestFrame(long).subarray(0, 8)], [0, 0, 0, 0, 203, 0x0a, 0xc8, 0x01]);
});

t.test('HealthCheckResponse: status, unknown fields skipped, malformed refused', async (t) => {
  t.equal(servingStatus(Buffer.from([])), 0, 'absent: UNKNOWN');
  t.equal(servingStatus(Buffer.from([0x08, 1])), 1);
  t.equal(servingStatus(Buffer.from([0x12, 2, 0x61, 0x62, 0x08, 2, 0x1d, 1, 2, 3, 4])), 2, 'a string and a fixed32 field around it');
  t.equal(servingStatus(Buffer.from([0x08])), undefined, 'a truncated varint');
  t.equal(servingStatus(Buffer.from([0x12, 5, 0x61])), undefined, 'a length past the end');
  t.equal(servingStatus(Buffer.from([0x0b])), undefined, 'a group');
});

t.test('the reader: one message across chunks; the bodies Envoy refuses', async (t) => {
  const whole = Buffer.concat([frame([]), frame([0x08, 1])]);
  const reader = new HealthResponseReader();
  for (const byte of whole) reader.push(Buffer.from([byte]));
  t.equal(reader.status, 1);
  t.equal(reader.error, undefined, 'empty frames are allowed');

  const two = new HealthResponseReader();
  two.push(Buffer.concat([frame([0x08, 1]), frame([0x08, 1])]));
  t.equal(two.error, 'unexpected streaming');

  const compressed = new HealthResponseReader();
  compressed.push(frame([0x08, 1], 1));
  t.equal(compressed.error, 'invalid grpc.health.v1 RPC payload');

  const huge = new HealthResponseReader();
  huge.push(Buffer.from([0, 0x7f, 0, 0, 0]));
  t.equal(huge.error, 'message too large', 'refused before buffering it');
});

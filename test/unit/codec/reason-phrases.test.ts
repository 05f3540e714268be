// The codec writes its own reason phrases (node:http stays out of the workers): they must be the
// ones Node's own HTTP server writes, for every code it knows.
import { STATUS_CODES } from 'node:http';
import t from 'tap';
import { REASON_PHRASES } from '../../../proxy/codec/http1/reason-phrases.ts';

t.test("the reason phrases are node:http's STATUS_CODES", async (t) => {
  t.same({ ...REASON_PHRASES }, { ...STATUS_CODES });
  t.equal(Object.keys(REASON_PHRASES).length, 63);
});

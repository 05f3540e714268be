import t from 'tap';
import { isInternalAddress } from '../../../proxy/http/internal-address.ts';

for (const a of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '127.0.0.1', '::1', '::ffff:10.0.0.1', 'fd00::1', 'fc12::3']) {
  t.ok(isInternalAddress(a), `${a} is internal`);
}
for (const a of ['8.8.8.8', '172.15.0.1', '172.32.0.1', '192.169.0.1', '11.0.0.1', '2001:db8::1', '::ffff:8.8.4.4']) {
  t.notOk(isInternalAddress(a), `${a} is external`);
}

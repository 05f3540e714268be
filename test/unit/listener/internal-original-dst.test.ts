// original_dst on an internal listener: the destination from the passed-through metadata.
import t from 'tap';
import { internalOriginalDst } from '../../../proxy/listener/original-dst/internal.ts';
import type { ConnectionFacts } from '../../../proxy/listener/index.ts';

const facts: ConnectionFacts = {
  destinationIp: 'envoy://connect_originate/', destinationPort: 0, sourceIp: 'envoy://internal_client_address/', sourcePort: 0,
  directSourceIp: 'envoy://internal_client_address/', serverName: '', transportProtocol: 'raw_buffer', applicationProtocols: [],
};
const meta = (local: unknown) => ({ 'envoy.filters.listener.original_dst': { local } });

t.test('the local field of envoy.filters.listener.original_dst', async (t) => {
  t.match(internalOriginalDst(meta('10.1.2.3:8080'), facts), { destinationIp: '10.1.2.3', destinationPort: 8080, sourceIp: 'envoy://internal_client_address/' });
  t.match(internalOriginalDst(meta('[fd00::1]:443'), facts), { destinationIp: 'fd00::1', destinationPort: 443 });
  for (const bad of ['10.1.2.3', 'name:80', '10.1.2.3:99999', 42]) t.equal(internalOriginalDst(meta(bad), facts), null, `${String(bad)} does not parse`);
  t.equal(internalOriginalDst(undefined, facts), null, 'no metadata');
  t.equal(internalOriginalDst({ tunnel: { destination: '10.1.2.3:80' } }, facts), null, 'another namespace');
});

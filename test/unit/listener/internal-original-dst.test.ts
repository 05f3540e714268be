// original_dst on an internal listener: the destination (and source) from the connection's filter
// state first, as Envoy, else the destination from the passed-through metadata.
import t from 'tap';
import { AddressObject, FilterState, StringAccessor } from '../../../proxy/filter-state/index.ts';
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

t.test('filter state first: local_ip restores the destination, remote_ip the source', async (t) => {
  const state = (local?: string, remote?: string) => {
    const fs = new FilterState();
    if (local !== undefined) fs.set('envoy.filters.listener.original_dst.local_ip', AddressObject.parse(local)!);
    if (remote !== undefined) fs.set('envoy.filters.listener.original_dst.remote_ip', AddressObject.parse(remote)!);
    return fs;
  };
  t.match(internalOriginalDst(meta('10.9.9.9:1'), { ...facts, filterState: state('10.1.2.3:8080', '10.4.5.6:40000') }), { destinationIp: '10.1.2.3', destinationPort: 8080, sourceIp: '10.4.5.6', sourcePort: 40000 }, 'the metadata is not read');
  t.match(internalOriginalDst(undefined, { ...facts, filterState: state(undefined, '[fd00::2]:5') }), { destinationIp: 'envoy://connect_originate/', sourceIp: 'fd00::2', sourcePort: 5 }, 'remote_ip alone');
  const text = new FilterState();
  text.set('envoy.filters.listener.original_dst.local_ip', new StringAccessor('10.1.2.3:8080'));
  t.match(internalOriginalDst(meta('10.9.9.9:1'), { ...facts, filterState: text }), { destinationIp: '10.9.9.9', destinationPort: 1 }, 'a string under the key is not an address: the metadata decides');
});

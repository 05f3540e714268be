// path_config_source: a watched file holding a DiscoveryResponse, replaced by rename.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { stringify } from 'yaml';
import { CLUSTER_TYPE_URL, createFileSource, LISTENER_TYPE_URL } from '../../../xds-client/index.ts';
import type { FileSource, JsonObject } from '../../../xds-client/index.ts';
import { edsCluster, listener, withoutType } from '../../support/xds/fixtures.ts';
import { RecordingConsumer } from '../../support/xds/recording-consumer.ts';
import { pollUntil } from '../../support/xds/wait.ts';

interface Setup {
  file: string;
  source: FileSource;
  consumer: RecordingConsumer;
  // Writes beside the file, then renames over it: the atomic replace Envoy documents.
  replace(text: string): Promise<void>;
}

async function setup(t: Test, initial: string): Promise<Setup> {
  const dir = await mkdtemp(path.join(tmpdir(), 'legate-xds-file-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'lds.yaml');
  await writeFile(file, initial);
  const consumer = new RecordingConsumer();
  const source = createFileSource({ path: file, typeUrl: LISTENER_TYPE_URL, onResources: consumer.consume });
  t.teardown(() => source.stop());
  let n = 0;
  const replace = async (text: string): Promise<void> => {
    const temporary = path.join(dir, `.lds.yaml.${++n}`);
    await writeFile(temporary, text);
    await rename(temporary, file);
  };
  return { file, source, consumer, replace };
}

function discoveryResponse(version: string, resources: JsonObject[]): string {
  return stringify({ version_info: version, resources });
}

t.test('loads the file, then reloads it when it is replaced by rename', async (t) => {
  const { source, consumer, replace } = await setup(t, discoveryResponse('1', [listener('a', 8080, 'r')]));
  t.same(await source.start(), { ok: true });
  const first = consumer.updates[0]!;
  t.equal(first.typeUrl, LISTENER_TYPE_URL);
  t.same(first.update, {
    version: '1',
    resources: [{ name: 'a', version: '1', resource: withoutType(listener('a', 8080, 'r')) }],
    removed: [],
    complete: true,
  });

  await replace(discoveryResponse('2', [listener('b', 8081, 'r')]));
  const second = await consumer.waitFor((u) => u.update.version === '2');
  t.same(second.update.resources.map((r) => r.name), ['b']);
  t.same(second.update.removed, ['a'], 'the file is the whole set: what it no longer has is removed');
  await pollUntil('version 2 to be accepted', () => source.state().version === '2');
  t.match(source.state(), { updateSuccess: 2, updateRejected: 0 });
});

t.test('a bad file keeps the last good set and reports the error', async (t) => {
  const { source, consumer, replace } = await setup(t, discoveryResponse('1', [listener('a', 8080, 'r')]));
  await source.start();

  const broken = listener('b', 8081, 'r');
  broken.per_connection_buffer_limit_byte = 5; // misspelt field
  await replace(discoveryResponse('2', [broken]));
  await pollUntil('the bad file to be rejected', () => source.state().updateRejected === 1);
  t.match(source.state().lastError, /resources\[0\]\.per_connection_buffer_limit_byte: unknown field in Listener/);
  t.equal(consumer.updates.length, 1, 'a file that does not parse never reaches the consumer');

  await replace('version_info: "3"\nresources: [ {');
  await pollUntil('the YAML error to be rejected', () => source.state().updateRejected === 2);

  consumer.decide = (_typeUrl, update) => (update.version === '4' ? { ok: false, error: 'port in use' } : { ok: true });
  await replace(discoveryResponse('4', [listener('c', 8082, 'r')]));
  await consumer.waitFor((u) => u.update.version === '4');
  await pollUntil('the rejection to be counted', () => source.state().updateRejected === 3);
  t.equal(source.state().lastError, 'port in use');

  await replace(discoveryResponse('5', [listener('d', 8083, 'r')]));
  const good = await consumer.waitFor((u) => u.update.version === '5');
  t.same(good.update.removed, ['a'], 'removals are against the last good set, not the rejected ones');
  await pollUntil('version 5 to be accepted', () => source.state().version === '5');
  t.match(source.state(), { updateSuccess: 2, updateRejected: 3 });
});

t.test('in-place writes, JSON files and the type check', async (t) => {
  const json = JSON.stringify({ version_info: 'j1', resources: [edsCluster('x')] });
  const { file, source, consumer } = await setup(t, json);
  // The file holds clusters, but this source backs lds_config.
  const result = await source.start();
  t.match(result, { ok: false, error: /a resource of type envoy\.config\.cluster\.v3\.Cluster in a envoy\.config\.listener\.v3\.Listener response/ });
  t.equal(consumer.updates.length, 0);

  await writeFile(file, JSON.stringify({ version_info: 'j2', type_url: LISTENER_TYPE_URL, resources: [listener('a', 8080, 'r')] }));
  const update = await consumer.waitFor((u) => u.update.version === 'j2');
  t.same(update.update.resources.map((r) => r.name), ['a']);

  // An in-place write may be seen half-written first; what counts is where it ends.
  await writeFile(file, JSON.stringify({ version_info: 'j3', type_url: CLUSTER_TYPE_URL, resources: [] }));
  await pollUntil('the wrong type_url to be rejected', () => /type_url is .*Cluster; this file must hold .*Listener/.test(source.state().lastError ?? ''));
  t.equal(source.state().version, 'j2', 'the last good version stays');
});

import { hostname } from 'node:os';
import t from 'tap';
import { DEFAULT_FORMAT, StreamInfo, compileFormat, compileTemplate, validateFormat } from '../../../proxy/access-log/index.ts';

const START = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

function sample(): StreamInfo {
  const info = new StreamInfo(START, 0);
  info.protocol = 'HTTP/1.1';
  info.method = 'POST';
  info.path = '/api/items?limit=5';
  info.authority = 'shop.example.com';
  info.scheme = 'http';
  info.requestHeaders = {
    host: 'shop.example.com',
    'user-agent': 'curl/8.5.0',
    'x-request-id': '3e1c6a43-1f0b-4b1c-9a57-2a6c1e8e2f10',
    'x-forwarded-for': '203.0.113.7',
    'x-envoy-original-path': '/items?limit=5',
    cookie: ['a=1', 'b=2'],
  };
  info.responseHeaders = { 'x-envoy-upstream-service-time': '12', 'content-length': 42, 'set-cookie': ['s=1', 't=2'] };
  info.responseTrailers = { 'grpc-status': '0' };
  info.responseCode = 201;
  info.responseCodeDetails = 'via_upstream';
  info.bytesReceived = 17;
  info.bytesSent = 42;
  info.requestDurationMs = 1.2;
  info.responseDurationMs = 13.9;
  info.durationMs = 15.7;
  info.upstreamHost = '10.0.0.5:8080';
  info.upstreamCluster = 'shop';
  info.upstreamLocalAddress = '10.0.0.1:40000';
  info.downstreamRemoteAddress = '203.0.113.7:0';
  info.downstreamDirectRemoteAddress = '127.0.0.1:51000';
  info.downstreamLocalAddress = '127.0.0.1:10000';
  info.requestedServerName = 'shop.example.com';
  info.routeName = 'items';
  info.connectionId = 42;
  info.attemptCount = 2;
  return info;
}

const text = (template: string, info: StreamInfo) => compileFormat({ kind: 'text', template })(info);

t.test("Envoy's default line for a sample request", async (t) => {
  const info = sample();
  info.setResponseFlag('URX');
  info.setResponseFlag('UF');
  t.equal(
    text(DEFAULT_FORMAT, info),
    '[2024-01-02T03:04:05.678Z] "POST /items?limit=5 HTTP/1.1" 201 UF,URX 17 42 15 12 ' +
      '"203.0.113.7" "curl/8.5.0" "3e1c6a43-1f0b-4b1c-9a57-2a6c1e8e2f10" "shop.example.com" "10.0.0.5:8080"\n',
  );
});

t.test("the default line for an empty stream is all '-' where Envoy has no value", async (t) => {
  t.equal(text(DEFAULT_FORMAT, new StreamInfo(START, 0)), '[2024-01-02T03:04:05.678Z] "- - -" 0 - 0 0 - - "-" "-" "-" "-" "-"\n');
});

t.test('each operator', async (t) => {
  const info = sample();
  const cases: Array<[string, string]> = [
    ['%REQ(:METHOD)%', 'POST'],
    ['%REQ(:PATH)%', '/api/items?limit=5'],
    ['%REQ(:AUTHORITY)%', 'shop.example.com'],
    ['%REQ(:SCHEME)%', 'http'],
    ['%REQ(USER-AGENT)%', 'curl/8.5.0'],
    ['%REQ(X-MISSING?USER-AGENT)%', 'curl/8.5.0'],
    ['%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', '/items?limit=5'],
    ['%REQ(USER-AGENT):4%', 'curl'],
    ['%REQ(COOKIE)%', 'a=1'],
    ['%REQ(X-MISSING)%', '-'],
    ['%REQ_WITHOUT_QUERY(:PATH)%', '/api/items'],
    ['%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%', '12'],
    ['%RESP(CONTENT-LENGTH)%', '42'],
    ['%RESP(SET-COOKIE)%', 's=1'],
    ['%RESP(:STATUS)%', '201'],
    ['%TRAILER(GRPC-STATUS)%', '0'],
    ['%TRAILER(X-MISSING)%', '-'],
    ['%RESPONSE_CODE%', '201'],
    ['%RESPONSE_CODE_DETAILS%', 'via_upstream'],
    ['%RESPONSE_FLAGS%', '-'],
    ['%BYTES_RECEIVED%', '17'],
    ['%BYTES_SENT%', '42'],
    ['%DURATION%', '15'],
    ['%REQUEST_DURATION%', '1'],
    ['%RESPONSE_DURATION%', '13'],
    ['%RESPONSE_TX_DURATION%', '1'],
    ['%UPSTREAM_HOST%', '10.0.0.5:8080'],
    ['%UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', '10.0.0.5'],
    ['%UPSTREAM_CLUSTER%', 'shop'],
    ['%UPSTREAM_LOCAL_ADDRESS%', '10.0.0.1:40000'],
    ['%UPSTREAM_TRANSPORT_FAILURE_REASON%', '-'],
    ['%DOWNSTREAM_REMOTE_ADDRESS%', '203.0.113.7:0'],
    ['%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', '203.0.113.7'],
    ['%DOWNSTREAM_DIRECT_REMOTE_ADDRESS%', '127.0.0.1:51000'],
    ['%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%', '127.0.0.1'],
    ['%DOWNSTREAM_LOCAL_ADDRESS%', '127.0.0.1:10000'],
    ['%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%', '127.0.0.1'],
    ['%DOWNSTREAM_LOCAL_PORT%', '10000'],
    ['%REQUESTED_SERVER_NAME%', 'shop.example.com'],
    ['%PROTOCOL%', 'HTTP/1.1'],
    ['%ROUTE_NAME%', 'items'],
    ['%CONNECTION_ID%', '42'],
    ['%UPSTREAM_REQUEST_ATTEMPT_COUNT%', '2'],
    ['%HOSTNAME%', hostname()],
    ['100%% %PROTOCOL%', '100% HTTP/1.1'],
    ['plain text', 'plain text'],
  ];
  for (const [template, want] of cases) t.equal(text(template, info), want, template);
});

t.test("missing values print '-'; numbers default to 0 as in Envoy", async (t) => {
  const info = new StreamInfo(START, 0);
  info.routeName = '';
  info.requestedServerName = '';
  const template =
    '%PROTOCOL% %ROUTE_NAME% %REQUESTED_SERVER_NAME% %UPSTREAM_HOST% %UPSTREAM_CLUSTER% %DURATION% %RESPONSE_DURATION% ' +
    '%DOWNSTREAM_REMOTE_ADDRESS% %RESPONSE_CODE_DETAILS% %RESPONSE_CODE% %BYTES_SENT% %CONNECTION_ID% %UPSTREAM_REQUEST_ATTEMPT_COUNT%';
  t.equal(text(template, info), '- - - - - - - - - 0 0 0 0');
});

t.test('IPv6 addresses are bracketed with a port and bare without', async (t) => {
  const info = new StreamInfo(START, 0);
  info.downstreamRemoteAddress = '::1:5555';
  info.downstreamLocalAddress = '[fe80::1]:443';
  info.upstreamHost = '[::1]';
  t.equal(
    text('%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %UPSTREAM_HOST%', info),
    '[::1]:5555 ::1 [fe80::1]:443 fe80::1 [::1]',
  );
});

t.test('response flags in Envoy order', async (t) => {
  const info = new StreamInfo(START, 0);
  for (const f of ['DC', 'UH', 'NR', 'nonsense']) info.setResponseFlag(f);
  t.equal(text('%RESPONSE_FLAGS%', info), 'UH,NR,DC');
  t.equal(info.hasResponseFlag('NR'), true);
  t.equal(info.hasResponseFlag('UF'), false);
});

t.test('transport failure reasons lose their spaces', async (t) => {
  const info = new StreamInfo(START, 0);
  info.upstreamTransportFailureReason = 'delayed connect error: 111';
  t.equal(text('%UPSTREAM_TRANSPORT_FAILURE_REASON%', info), 'delayed_connect_error:_111');
});

t.test('START_TIME formats', async (t) => {
  const info = new StreamInfo(START + 0.25, 0);
  const cases: Array<[string, string]> = [
    ['%START_TIME%', '2024-01-02T03:04:05.678Z'],
    ['%START_TIME(%Y-%m-%dT%H:%M:%S%z)%', '2024-01-02T03:04:05+0000'],
    ['%START_TIME(%s)%', '1704164645'],
    ['%START_TIME(%E3S)%', '05.678'],
    ['%START_TIME(%s.%3f)%', '1704164645.678'],
    ['%START_TIME(%6f)%', '678250'],
    ['%START_TIME(%f)%', '678250000'],
    ['%START_TIME(%E*S)%', '05.67825'],
    ['%START_TIME(%a %b %e %j %y %I%p %F %T %Z %%)%', 'Tue Jan  2 002 24 03AM 2024-01-02 03:04:05 UTC %'],
    ['%START_TIME(%Q)%', '%Q'],
  ];
  for (const [template, want] of cases) t.equal(text(template, info), want, template);
});

t.test('JSON: sorted keys, typed single operators, null when missing, strings otherwise', async (t) => {
  const info = sample();
  const line = compileFormat({
    kind: 'json',
    fields: {
      status: '%RESPONSE_CODE%',
      duration: '%DURATION%',
      bytes_sent: '%BYTES_SENT%',
      method: '%REQ(:METHOD)%',
      missing: '%REQ(X-MISSING)%',
      missing_duration: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
      mixed: 'code=%RESPONSE_CODE% %REQ(X-MISSING)%',
      literal: 'ingress',
      constant: 7,
      nested: { address: '%DOWNSTREAM_LOCAL_ADDRESS%', port: '%DOWNSTREAM_LOCAL_PORT%' },
      list: ['%PROTOCOL%', '%CONNECTION_ID%'],
      start: '%START_TIME%',
    },
  })(info);
  t.ok(line.endsWith('}\n'));
  t.equal(line.split('\n').length, 2, 'one object per line');
  t.equal(
    line,
    '{"bytes_sent":42,"constant":7,"duration":15,"list":["HTTP/1.1",42],"literal":"ingress","method":"POST","missing":null,' +
      '"missing_duration":null,"mixed":"code=201 -","nested":{"address":"127.0.0.1:10000","port":10000},' +
      '"start":"2024-01-02T03:04:05.678Z","status":201}\n',
  );
  t.same(JSON.parse(line).nested, { address: '127.0.0.1:10000', port: 10000 });
});

t.test('JSON escapes header values', async (t) => {
  const info = sample();
  info.requestHeaders = { 'user-agent': 'evil "agent"\n' };
  const line = compileFormat({ kind: 'json', fields: { ua: '%REQ(USER-AGENT)%' } })(info);
  t.same(JSON.parse(line), { ua: 'evil "agent"\n' });
});

t.test('header value templates leave missing values empty', async (t) => {
  const info = sample();
  t.equal(compileTemplate('%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%')(info), '203.0.113.7');
  t.equal(compileTemplate('[%REQ(X-MISSING)%]')(info), '[]');
  t.equal(compileTemplate('static')(info), 'static');
});

t.test('invalid formats fail at compile time with a clear message', async (t) => {
  t.throws(() => compileFormat({ kind: 'text', template: '%NOT_AN_OPERATOR%' }), /unknown command operator %NOT_AN_OPERATOR%/);
  t.throws(() => compileTemplate('%REQ%'), /needs an argument/);
  t.throws(() => compileTemplate('%PROTOCOL(x)%'), /takes no argument/);
  t.throws(() => compileTemplate('%REQ(A?B?C)%'), /more than one alternative/);
  t.throws(() => compileTemplate('50% off'), /no valid %COMMAND% at position 2/);
  t.throws(() => compileFormat({ kind: 'json', fields: { a: { b: true } } }), /json_format\.a\.b must be/);
  t.throws(() => compileFormat({ kind: 'json', fields: { a: '%BOGUS%' } }), /unknown command operator %BOGUS%/);
  t.equal(validateFormat('%FOO%'), 'access log format: unknown command operator %FOO% in "%FOO%"');
  t.equal(validateFormat(DEFAULT_FORMAT), null);
  t.equal(validateFormat({ kind: 'json', fields: { a: '%PROTOCOL%' } }), null);
  t.match(validateFormat({ kind: 'json', fields: { a: null } }), /json_format\.a/);
});

t.test('START_TIME stays right across seconds and milliseconds with one compiled format', async (t) => {
  const iso = compileFormat({ kind: 'text', template: '%START_TIME%' });
  const custom = compileFormat({ kind: 'text', template: '%START_TIME(%S.%3f)%' });
  const at = (ms: number) => new StreamInfo(ms, 0);
  const times = [START, START + 1, START + 322, START + 322, START + 60_000, START - 86_400_000];
  for (const ms of times) {
    t.equal(iso(at(ms)), new Date(ms).toISOString());
    const d = new Date(ms);
    t.equal(custom(at(ms)), `${String(d.getUTCSeconds()).padStart(2, '0')}.${String(d.getUTCMilliseconds()).padStart(3, '0')}`);
  }
});

t.test('%DYNAMIC_METADATA%: strings bare, the rest as JSON; typed in json_format; missing is -', async (t) => {
  const info = new StreamInfo(START, 0);
  info.dynamicMetadata = {
    'envoy.filters.http.jwt_authn': { payload: { sub: 'alice', exp: 1700000000, admin: true, groups: ['a', 'b'], org: { team: 'x' }, none: null } },
  };
  const text = (format: string) => compileFormat({ kind: 'text', template: format })(info);
  const ns = 'envoy.filters.http.jwt_authn';
  t.equal(text(`%DYNAMIC_METADATA(${ns}:payload:sub)%`), 'alice');
  t.equal(text(`%DYNAMIC_METADATA(${ns}:payload:exp)% %DYNAMIC_METADATA(${ns}:payload:admin)% %DYNAMIC_METADATA(${ns}:payload:none)%`), '1700000000 true null');
  t.equal(text(`%DYNAMIC_METADATA(${ns}:payload:groups)%|%DYNAMIC_METADATA(${ns}:payload:org)%`), '["a","b"]|{"team":"x"}');
  t.equal(text(`%DYNAMIC_METADATA(${ns}:payload:sub):3%`), 'ali', 'max length');
  t.equal(text(`%DYNAMIC_METADATA(${ns}:payload:missing)% %DYNAMIC_METADATA(${ns}:payload:sub:deeper)% %DYNAMIC_METADATA(other:x)%`), '- - -');
  t.equal(text(`%DYNAMIC_METADATA(${ns})%`), JSON.stringify(info.dynamicMetadata[ns]), 'a whole namespace');
  t.equal(compileFormat({ kind: 'text', template: `%DYNAMIC_METADATA(${ns}:payload:sub)%` })(new StreamInfo(START, 0)), '-', 'a stream without dynamic metadata');
  const json = compileFormat({ kind: 'json', fields: { sub: `%DYNAMIC_METADATA(${ns}:payload:sub)%`, groups: `%DYNAMIC_METADATA(${ns}:payload:groups)%`, exp: `%DYNAMIC_METADATA(${ns}:payload:exp)%`, gone: `%DYNAMIC_METADATA(${ns}:x)%`, both: `%DYNAMIC_METADATA(${ns}:payload:sub)%/%DYNAMIC_METADATA(${ns}:payload:exp)%` } })(info);
  t.same(JSON.parse(json), { both: 'alice/1700000000', exp: 1700000000, gone: null, groups: ['a', 'b'], sub: 'alice' });
  t.match(validateFormat(`%DYNAMIC_METADATA(${ns}::sub)%`), /takes NAMESPACE or NAMESPACE:KEY/);
  t.match(validateFormat('%DYNAMIC_METADATA%'), /needs an argument/);
});

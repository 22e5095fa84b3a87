import assert from 'node:assert/strict';
import { redactText, redactUrl, splitUrlCredentials } from '../../../lib/redact';
import { redactNodeOutput } from '../../../nodes/kit/node-kit';
import type { Node } from 'node-red';

describe('redact', () => {
  const urls: Array<[string, string]> = [
    ['mqtt://line-1:s3cret@broker:1883', 'mqtt://line-1:***@broker:1883'],
    ['mqtts://line-1:s3cret@broker.example:8883/', 'mqtts://line-1:***@broker.example:8883/'],
    ['postgres://linesight:pa55@db:5432/linesight?sslmode=require', 'postgres://linesight:***@db:5432/linesight?sslmode=require'],
    ['postgresql://u:p@h/db?password=again&application_name=x', 'postgresql://u:***@h/db?password=***&application_name=x'],
    ['https://repo.example/api/v1/desired?token=lsd_abc&x=1', 'https://repo.example/api/v1/desired?token=***&x=1'],
    ['wss://broker/mqtt?access_token=abc#frag', 'wss://broker/mqtt?access_token=***#frag'],
    ['https://h/p?API_KEY=1&sig=2&page=3', 'https://h/p?API_KEY=***&sig=***&page=3'],
    // An unencoded "@" in the password: everything up to the last "@" of the authority is userinfo.
    ['mqtt://dev:p@ss@broker:1883', 'mqtt://dev:***@broker:1883'],
    // Percent-encoded characters stay hidden whole.
    ['mqtt://dev:p%40ss%3Aw0rd@broker', 'mqtt://dev:***@broker'],
    // A user name alone is not a secret (it names the device); nothing to hide.
    ['mqtt://line-1@broker:1883', 'mqtt://line-1@broker:1883'],
    ['postgres://postgres@127.0.0.1:5432/test', 'postgres://postgres@127.0.0.1:5432/test'],
    // A "@" in a path (template@version) is not userinfo.
    ['https://repo.example/api/v1/templates/line@1.2.0', 'https://repo.example/api/v1/templates/line@1.2.0'],
    ['opc.tcp://op:pw@plc:4840/UA/Server', 'opc.tcp://op:***@plc:4840/UA/Server'],
    ['mqtt://broker:1883', 'mqtt://broker:1883'],
    ['', ''],
  ];
  for (const [input, expected] of urls) {
    it(`redactUrl(${JSON.stringify(input)}) = ${JSON.stringify(expected)}`, () => {
      assert.equal(redactUrl(input), expected);
    });
  }

  const texts: Array<[string, string]> = [
    ['notifications: connected to mqtt://repo:hunter2@broker:1883', 'notifications: connected to mqtt://repo:***@broker:1883'],
    ['two: mqtt://a:x@h1 and "postgres://b:y@h2/db" end', 'two: mqtt://a:***@h1 and "postgres://b:***@h2/db" end'],
    ['Request cannot be constructed from a URL that includes credentials: https://u:pw@repo:8080/api/v1/x', 'Request cannot be constructed from a URL that includes credentials: https://u:***@repo:8080/api/v1/x'],
    ['host=db user=x password=hunter2 dbname=y', 'host=db user=x password=*** dbname=y'],
    ["password='with space' next", 'password=*** next'],
    ['token=abc; more', 'token=***; more'],
    ['check the user and password (bad username or password)', 'check the user and password (bad username or password)'],
    ['connect ECONNREFUSED 127.0.0.1:1883', 'connect ECONNREFUSED 127.0.0.1:1883'],
  ];
  for (const [input, expected] of texts) {
    it(`redactText(${JSON.stringify(input)})`, () => {
      assert.equal(redactText(input), expected);
    });
  }

  it('never lets a password through whatever surrounds it', () => {
    const secret = 'Zq9-unique-Secret';
    for (const form of [`mqtt://u:${secret}@h`, `(mqtt://u:${secret}@h:1/x)`, `<https://u:${secret}@h>`, `x=https://h/?password=${secret}`, `password=${secret}`]) {
      assert.ok(!redactText(form).includes(secret), form);
    }
  });

  describe('splitUrlCredentials', () => {
    const cases: Array<[string, { url: string; username?: string; password?: string }]> = [
      ['mqtt://line-1:s3cret@broker:1883', { url: 'mqtt://broker:1883', username: 'line-1', password: 's3cret' }],
      ['mqtt://dev:p%40ss%3Aw0rd@broker/', { url: 'mqtt://broker/', username: 'dev', password: 'p@ss:w0rd' }],
      ['mqtt://dev:p@ss@broker', { url: 'mqtt://broker', username: 'dev', password: 'p@ss' }],
      ['mqtt://line-1@broker', { url: 'mqtt://broker', username: 'line-1' }],
      ['mqtt://:only-password@broker', { url: 'mqtt://broker', password: 'only-password' }],
      ['mqtt://broker:1883', { url: 'mqtt://broker:1883' }],
      ['not a url', { url: 'not a url' }],
    ];
    for (const [input, expected] of cases) {
      it(JSON.stringify(input), () => assert.deepEqual(splitUrlCredentials(input), expected));
    }
  });

  describe('redactNodeOutput', () => {
    it('redacts status texts, log lines and Error messages of a node', () => {
      const seen: unknown[] = [];
      const node = {
        status: (s: unknown) => seen.push(['status', s]),
        log: (m: unknown) => seen.push(['log', m]),
        warn: (m: unknown) => seen.push(['warn', m]),
        error: (m: unknown, msg?: unknown) => seen.push(['error', m instanceof Error ? m.message : m, msg]),
        debug: (m: unknown) => seen.push(['debug', m]),
        trace: (m: unknown) => seen.push(['trace', m]),
      };
      redactNodeOutput(node as unknown as Node<object>);
      const n = node as unknown as Node<object>;
      n.status({ fill: 'red', shape: 'ring', text: 'mqtt://u:pw1@h unreachable' });
      n.status('mqtt://u:pw2@h');
      n.warn('retrying mqtt://u:pw3@h');
      const msg = { payload: 1 };
      n.error(new Error('failed postgres://u:pw4@db/x'), msg);
      n.log('fine');
      assert.deepEqual(seen, [
        ['status', { fill: 'red', shape: 'ring', text: 'mqtt://u:***@h unreachable' }],
        ['status', 'mqtt://u:***@h'],
        ['warn', 'retrying mqtt://u:***@h'],
        ['error', 'failed postgres://u:***@db/x', msg],
        ['log', 'fine'],
      ]);
    });
  });
});

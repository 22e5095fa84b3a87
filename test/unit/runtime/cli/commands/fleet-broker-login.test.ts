import assert from 'node:assert/strict';
import { fleetBrokerLogin } from '../../../../../runtime/cli/commands/runtime';

describe('fleet broker login of the edge agent', () => {
  const cases: Array<[string, string | undefined, string | undefined, NodeJS.ProcessEnv, { username?: string; password?: string } | undefined]> = [
    ['no broker, no login', undefined, undefined, { LINESIGHT_BROKER_PASSWORD: 'x' }, undefined],
    ['anonymous broker', 'mqtt://b:1883', undefined, {}, {}],
    ['password from the environment, device id as user name', 'mqtt://b:1883', undefined, { LINESIGHT_BROKER_PASSWORD: 'pw' }, { username: 'line-7', password: 'pw' }],
    ['--broker-user wins over the device id', 'mqtt://b:1883', 'agent-7', { LINESIGHT_BROKER_PASSWORD: 'pw' }, { username: 'agent-7', password: 'pw' }],
    ['LINESIGHT_BROKER_USERNAME', 'mqtt://b:1883', undefined, { LINESIGHT_BROKER_USERNAME: 'u', LINESIGHT_BROKER_PASSWORD: 'pw' }, { username: 'u', password: 'pw' }],
    ['userinfo in the URL wins (decoded)', 'mqtts://line-7:p%40ss@b:8883', 'other', { LINESIGHT_BROKER_PASSWORD: 'env' }, { username: 'line-7', password: 'p@ss' }],
    ['an empty variable counts as unset', 'mqtt://b:1883', undefined, { LINESIGHT_BROKER_PASSWORD: '' }, {}],
  ];
  for (const [what, url, user, env, expected] of cases) {
    it(what, () => assert.deepEqual(fleetBrokerLogin('line-7', url, user, env), expected));
  }
});

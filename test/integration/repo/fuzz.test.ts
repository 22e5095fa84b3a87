// The OpenAPI-driven fuzzer over every route of a running repository: no 5xx, ever, and /healthz still
// answers afterwards. Seeded and bounded: LINESIGHT_FUZZ_SEED repeats a run, LINESIGHT_FUZZ_SECONDS sets
// its length (default 60). A failure prints the seed and each failing request.
import assert from 'node:assert/strict';
import { API_ROOT } from '../../../contracts/fleet/protocol';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { LOGIN_LIMITS } from '../../../runtime/repo/store/sessions';
import { describeRequest, fuzzRepository } from '../../support/openapi-fuzz';
import { login, startHarness, type Harness } from './harness';

describe('repo: OpenAPI-driven fuzzer', function () {
  const seconds = Number(process.env.LINESIGHT_FUZZ_SECONDS ?? 60);
  this.timeout((seconds + 120) * 1000);
  let h: Harness;
  let deviceToken: string;
  let deploymentId: string;
  let tokenId: string;
  const FUZZ_PASSWORD = 'fuzz-password';
  const serverLog: string[] = [];

  before(async () => {
    h = await startHarness({ log: (line) => serverLog.push(line) });
    await h.admin.createTemplate(lineTemplate);
    await h.admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow('v1') });
    deviceToken = (await h.admin.registerDevice({ id: 'line-a', tier: 'line', labels: { site: 'plant-1' }, parameters: { LINE_ID: 'A' } })).token;
    await h.admin.registerDevice({ id: 'line-b', tier: 'line', parameters: { LINE_ID: 'B' } });
    deploymentId = (await h.admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { ids: ['line-a'] } })).id;
    tokenId = (await h.admin.createAdminToken('fuzz-spare')).id;
    await h.admin.createUser({ name: 'fuzz-user', role: 'viewer', password: FUZZ_PASSWORD });
  });
  after(async () => {
    await h?.close();
  });

  const seed = process.env.LINESIGHT_FUZZ_SEED ? Number(process.env.LINESIGHT_FUZZ_SEED) : Date.now() % 2 ** 31;

  async function run(label: string, budgetSeconds: number, concurrency: number, runSeed: number) {
    // A fresh login each run: the fuzzer logs its session out now and then (DELETE /session), and its wrong
    // passwords reach the failed-login limit of this address: the repository's clock moves past its window.
    h.clock.advance(LOGIN_LIMITS.windowMs);
    const s = await login(h.repo.url, 'admin', h.repo.adminPassword!);
    const session = { cookie: s.cookie, csrfToken: s.csrfToken };
    console.log(`      [fuzz] ${label}: seed ${runSeed} (LINESIGHT_FUZZ_SEED=${seed} repeats the run), ${budgetSeconds} s, ${concurrency} at a time`);
    const result = await fuzzRepository({
      url: h.repo.url,
      tokens: { admin: h.repo.adminToken!, device: deviceToken, deviceId: 'line-a', session },
      seed: runSeed,
      budgetMs: budgetSeconds * 1000,
      concurrency,
      pathValues: (path, name) => {
        if (name === 'slug') return 'line-inspection';
        if (name === 'version') return '1.0.0';
        if (name === 'tokenId') return tokenId;
        if (name === 'name') return 'fuzz-user';
        if (name === 'id') return path.startsWith(`${API_ROOT}/deployments`) ? deploymentId : /\/(logs|health)$/.test(path) ? 'line-a' : 'line-b';
        return 'x';
      },
      // Good values by property name, so bodies reach past validation into the store (and its races).
      hints: {
        template: () => 'line-inspection',
        version: (rnd) => rnd.pick(['1.0.0', '1.0.0', `1.${rnd.int(1, 40)}.0`, `1.${rnd.int(1, 40)}.0+b${rnd.int(1, 3)}`]),
        deviceId: () => 'line-a',
        ids: (rnd) => rnd.pick([['line-a'], ['line-b'], ['line-a', 'line-b']]),
        target: (rnd) => rnd.pick([{ ids: ['line-a'] }, { ids: ['line-a', 'line-b'] }, { tier: 'line' }, { labels: { site: 'plant-1' } }]) as never,
        flow: (rnd) => lineFlow(`fuzz-${rnd.int(0, 999)}`) as never,
        running: () => 'line-inspection@1.0.0',
        timezone: (rnd) => rnd.pick(['Europe/Berlin', 'UTC', 'America/Chicago']),
        deploymentId: () => deploymentId,
        username: (rnd) => rnd.pick(['admin', 'fuzz-user', 'nobody']),
        password: (rnd) => rnd.pick([FUZZ_PASSWORD, h.repo.adminPassword!, 'wrong-password']),
        owner: (rnd) => rnd.pick([{ user: 'fuzz-user' }, { user: 'admin' }, { pipeline: 'ci' }, { user: 'nobody' }]) as never,
        parameters: (rnd) => (rnd.chance(0.5) ? lineTemplate.parameters : { LINE_ID: 'A' }) as never,
      },
    });
    console.log(`      [fuzz] ${result.requests} requests over ${result.operations.length} operations; answers ${JSON.stringify(result.byStatus)}; ${result.closedEarly} big or unauthenticated bodies cut off early`);
    const never2xx = result.operations.filter((o) => !result.byOperation[o]?.['2xx']);
    if (never2xx.length) console.log(`      [fuzz] never answered 2xx: ${never2xx.join(', ')}`);
    const health = await fetch(`${h.repo.url}/healthz`);
    assert.equal(health.status, 200, 'the repository no longer answers /healthz after the fuzzer');
    assert.ok(result.requests >= result.operations.length * 3, `only ${result.requests} requests in ${budgetSeconds} s`);
    if (result.failures.length) {
      const lines = result.failures.map((f) => `    HTTP ${f.status}: ${describeRequest(f.request)}\n      answer: ${f.answer}`);
      assert.fail(`the fuzzer (seed ${runSeed}, LINESIGHT_FUZZ_SEED=${seed}) got ${result.failures.length} server errors:\n${lines.join('\n')}`);
    }
  }

  it('sends valid and mutated requests to every operation with every kind of token, one at a time: no 5xx, still healthy', async () => {
    await run('one at a time', Math.round(seconds * 0.7), 1, seed);
  });

  it('and four at a time, so writes race: no 5xx, still healthy', async () => {
    // Another stream than the first run's, whose creations would all be 409 now.
    await run('four at a time', Math.round(seconds * 0.3), 4, seed + 1);
  });
});

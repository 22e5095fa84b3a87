// The OpenAPI-driven fuzzer over every route of a running repository: no 5xx, ever, and /healthz still
// answers afterwards. Seeded and bounded: LINESIGHT_FUZZ_SEED repeats a run, LINESIGHT_FUZZ_SECONDS sets
// its length (default 60). A failure prints the seed and each failing request.
import assert from 'node:assert/strict';
import { API_ROOT } from '../../../runtime/fleet/protocol';
import { lineFlow, lineTemplate } from '../../fixtures/repo/templates';
import { describeRequest, fuzzRepository } from '../../support/openapi-fuzz';
import { startHarness, type Harness } from './harness';

describe('repo: OpenAPI-driven fuzzer', function () {
  const seconds = Number(process.env.LINESIGHT_FUZZ_SECONDS ?? 60);
  this.timeout((seconds + 120) * 1000);
  let h: Harness;
  let deviceToken: string;
  let deploymentId: string;
  let tokenId: string;
  const serverLog: string[] = [];

  before(async () => {
    h = await startHarness({ log: (line) => serverLog.push(line) });
    await h.admin.createTemplate(lineTemplate);
    await h.admin.publishVersion('line-inspection', { version: '1.0.0', flow: lineFlow('v1') });
    deviceToken = (await h.admin.registerDevice({ id: 'line-a', tier: 'line', labels: { site: 'plant-1' }, parameters: { LINE_ID: 'A' } })).token;
    await h.admin.registerDevice({ id: 'line-b', tier: 'line', parameters: { LINE_ID: 'B' } });
    deploymentId = (await h.admin.createDeployment({ template: 'line-inspection', version: '1.0.0', target: { ids: ['line-a'] } })).id;
    tokenId = (await h.admin.createAdminToken('fuzz-spare')).id;
  });
  after(async () => {
    await h?.close();
  });

  it('sends valid and mutated requests to every operation with every kind of token: no 5xx, still healthy', async () => {
    const seed = process.env.LINESIGHT_FUZZ_SEED ? Number(process.env.LINESIGHT_FUZZ_SEED) : Date.now() % 2 ** 31;
    console.log(`      [fuzz] seed ${seed} (LINESIGHT_FUZZ_SEED=${seed} repeats this run), ${seconds} s`);
    let versionN = 0;
    const result = await fuzzRepository({
      url: h.repo.url,
      tokens: { admin: h.repo.adminToken!, device: deviceToken, deviceId: 'line-a' },
      seed,
      budgetMs: seconds * 1000,
      pathValues: (path, name) => {
        if (name === 'slug') return 'line-inspection';
        if (name === 'version') return '1.0.0';
        if (name === 'tokenId') return tokenId;
        if (name === 'id') return path.startsWith(`${API_ROOT}/deployments`) ? deploymentId : 'line-b';
        return 'x';
      },
      hints: {
        template: () => 'line-inspection',
        version: () => (versionN % 2 ? '1.0.0' : `1.${versionN++}.0+b${versionN % 3}`),
        deviceId: () => 'line-a',
        ids: () => ['line-a'],
        flow: () => lineFlow(`fuzz-${versionN}`) as never,
        running: () => 'line-inspection@1.0.0',
        deploymentId: () => deploymentId,
        LINE_ID: () => 'A',
      },
    });
    console.log(`      [fuzz] ${result.requests} requests over ${result.operations.length} operations; answers ${JSON.stringify(result.byStatus)}; ${result.closedEarly} big or unauthenticated bodies cut off early`);
    const health = await fetch(`${h.repo.url}/healthz`);
    assert.equal(health.status, 200, 'the repository no longer answers /healthz after the fuzzer');
    assert.ok(result.requests >= result.operations.length * 3, `only ${result.requests} requests in ${seconds} s`);
    if (result.failures.length) {
      const lines = result.failures.map((f) => `    HTTP ${f.status}: ${describeRequest(f.request)}\n      answer: ${f.answer}`);
      assert.fail(`the fuzzer (seed ${seed}) got ${result.failures.length} server errors:\n${lines.join('\n')}`);
    }
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentModels, ModelRefused, type ModelFetcher } from '../../../../runtime/agent/models';

/** Never called here: these cases install by hand what a download would have installed. */
const noFetch: ModelFetcher = {
  document: () => Promise.reject(new Error('no network in a unit test')),
  artifactRequest: () => ({ url: 'http://127.0.0.1:1/', headers: {} }),
};

describe('agent models: switch, restore, prune (no network)', () => {
  let dir: string;
  let models: AgentModels;
  const install = (version: string) => {
    const d = path.join(dir, 'detector', version);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'model.onnx'), version);
    fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify({ name: 'detector', version, format: 'onnx', sha256: version.replace(/\./g, '').padEnd(64, '0'), bytes: 5, metadata: { classes: ['scratch'] } }));
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-agent-models-'));
    models = new AgentModels({ dir, fetcher: noFetch });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('current.json names the version, its file, hash and metadata; restore puts back what was there', () => {
    install('1.0.0');
    install('2.0.0');
    const first = models.switchTo([{ name: 'detector', version: '1.0.0' }]);
    assert.deepEqual([...first], [['detector', null]]);
    assert.deepEqual(models.current('detector'), { name: 'detector', version: '1.0.0', file: '1.0.0/model.onnx', sha256: '100'.padEnd(64, '0'), metadata: { classes: ['scratch'] } });
    const second = models.switchTo([{ name: 'detector', version: '2.0.0' }]);
    assert.equal(models.current('detector')?.version, '2.0.0');
    models.restore(second);
    assert.equal(models.current('detector')?.version, '1.0.0');
    models.restore(first);
    assert.equal(models.current('detector'), null, 'a model that had no current.json loses it again');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'detector')).filter((f) => f.endsWith('.tmp')), [], 'no temp file left behind');
  });

  it('refuses to point at a version that is not installed, and names it', () => {
    assert.throws(() => models.switchTo([{ name: 'detector', version: '9.9.9' }]), (err: Error) => err instanceof ModelRefused && /detector@9\.9\.9 is not installed/.test(err.message));
    assert.throws(() => models.switchTo([{ name: '../etc', version: '1.0.0' }]), ModelRefused);
    assert.throws(() => models.switchTo([{ name: 'detector', version: '../../x' }]), ModelRefused);
  });

  it('prune keeps the versions named (current and previous) and the partial of a kept version; the rest goes', () => {
    for (const v of ['1.0.0', '2.0.0', '3.0.0']) install(v);
    models.switchTo([{ name: 'detector', version: '3.0.0' }]);
    fs.writeFileSync(path.join(dir, 'detector', '.4.0.0.partial'), 'x');
    fs.writeFileSync(path.join(dir, 'detector', '.1.0.0.partial'), 'x');
    fs.mkdirSync(path.join(dir, 'detector', '.staging-5.0.0-abcd'));
    models.prune('detector', ['3.0.0', '2.0.0', '4.0.0']);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'detector')).sort(), ['.4.0.0.partial', '2.0.0', '3.0.0', 'current.json']);
  });

  it('names the model file by its format', () => {
    assert.equal(AgentModels.fileName('onnx'), 'model.onnx');
    assert.equal(AgentModels.fileName('tflite'), 'model.tflite');
    assert.equal(AgentModels.fileName('../x'), 'model.bin');
  });
});

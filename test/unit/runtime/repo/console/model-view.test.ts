import assert from 'node:assert/strict';
import fs from 'node:fs';
import { bySemverDesc, compareVersions, describeInput, devicesByVersion, headline, perClass, type ModelVersionView } from '../../../../../runtime/repo/console/model-view';

const shipped = (version: string): ModelVersionView => {
  const metadata = JSON.parse(fs.readFileSync(`models/defect-detector/${version}/model.json`, 'utf8'));
  return { name: 'defect-detector', version, format: 'onnx', sha256: metadata.sha256, bytes: metadata.bytes, metadata, publisher: 'ci', createdAt: '2026-12-01T00:00:00.000Z' };
};

describe('console model view: what the Models registry page shows of a version', () => {
  it('reads precision, recall and mAP flat or where the project training keeps them (metrics.heldOut.overall)', () => {
    assert.deepEqual(headline({ metrics: { precision: 0.9, recall: 0.8, mAP50: 0.85 } }), { precision: 0.9, recall: 0.8, map50: 0.85 });
    const v11 = shipped('1.1.0').metadata;
    assert.deepEqual(headline(v11), { precision: 0.9593, recall: 0.9796, map50: 0.9845 });
    assert.deepEqual(headline(undefined), {});
    assert.deepEqual(headline({ metrics: { precision: 'n/a' } }), {});
    assert.equal(perClass(v11).hole!.ap50, 0.9954);
    assert.equal(describeInput(v11), '320×320 NCHW RGB');
    assert.equal(describeInput(undefined), '–');
  });

  it('compares two versions like `models diff`: figures with their change, classes, changelog; equal rows unmarked', () => {
    const rows = compareVersions(shipped('1.0.0'), shipped('1.1.0'));
    const row = (f: string) => rows.find((r) => r.field === f)!;
    assert.equal(row('version').changed, true);
    assert.ok(row('precision').delta! > 0, 'v1.1.0 is the better one');
    assert.equal(row('precision').b, '0.959');
    assert.equal(row('classes').changed, false);
    assert.equal(row('classes').a, 'scratch, dent, hole');
    assert.equal(row('format').changed, false);
    assert.ok(row('hole recall'));
    assert.match(row('changelog').b, /Better version/);
  });

  it('orders versions newest first by semver and groups devices by the version they run', () => {
    assert.deepEqual(['1.0.0', '1.10.0', '1.2.0', '2.0.0-rc.1', '2.0.0'].sort(bySemverDesc), ['2.0.0', '2.0.0-rc.1', '1.10.0', '1.2.0', '1.0.0']);
    const devices = [
      { id: 'line-2', models: [{ name: 'defect-detector', version: '1.0.0' }] },
      { id: 'line-1', models: [{ name: 'defect-detector', version: '1.1.0' }, { name: 'other', version: '9.0.0' }] },
      { id: 'line-3', models: [{ name: 'defect-detector', version: '1.0.0' }] },
      { id: 'factory-1' },
    ];
    assert.deepEqual([...devicesByVersion(devices, 'defect-detector')], [['1.0.0', ['line-2', 'line-3']], ['1.1.0', ['line-1']]]);
  });
});

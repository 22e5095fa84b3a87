// Reading a template from disk for publishing: a template folder, a manifest (flow inline, in flowFile or
// flow.json beside it), or a bare flow; what cannot be read is the caller's input (TemplateSourceError).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readTemplateFolder, readTemplateSource, templateCreateBody, TemplateSourceError } from '../../../../runtime/repo/templates';

describe('repo templates: reading a template to publish', () => {
  let dir: string;
  const flow = [{ id: 't', type: 'tab' }];
  const manifest = { slug: 'cell-check', title: 'Cell check', tier: 'line', version: '0.1.0', parameters: { type: 'object', properties: {} }, requiredNodes: [] };
  const write = (rel: string, value: unknown) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), typeof value === 'string' ? value : JSON.stringify(value));
  };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-templates-'));
    write('folder/manifest.json', manifest);
    write('folder/flow.json', flow);
    write('named/m.json', { ...manifest, flowFile: 'other.json' });
    write('named/other.json', flow);
    write('inline.json', { ...manifest, flow });
    write('bare.json', flow);
    write('lonely/manifest.json', manifest);
    write('broken.json', '{ nope');
    write('number.json', '42');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a folder, a manifest naming its flow file, a manifest with the flow inline, and a bare flow', () => {
    assert.deepEqual(readTemplateSource(path.join(dir, 'folder')), { manifest, flow });
    assert.deepEqual(readTemplateSource(path.join(dir, 'named/m.json')).flow, flow);
    assert.deepEqual(readTemplateSource(path.join(dir, 'inline.json')).flow, flow);
    assert.deepEqual(readTemplateSource(path.join(dir, 'bare.json')), { flow });
    assert.equal(readTemplateFolder(path.join(dir, 'folder')).manifest.slug, 'cell-check');
  });

  const refused: [string, RegExp][] = [
    ['missing.json', /missing\.json does not exist/],
    ['broken.json', /broken\.json is not valid JSON/],
    ['number.json', /holds neither a flow array nor a manifest object/],
    ['lonely', /a manifest needs "flow" \(array\), "flowFile", or a flow\.json beside it/],
  ];
  for (const [file, message] of refused) {
    it(`refuses ${file} with a TemplateSourceError saying why`, () => {
      assert.throws(() => readTemplateSource(path.join(dir, file)), (err: unknown) => err instanceof TemplateSourceError && message.test(err.message));
    });
  }

  it('a manifest describes the template to create only when it names a title and a tier', () => {
    assert.deepEqual(templateCreateBody(manifest as never), { slug: 'cell-check', title: 'Cell check', tier: 'line', description: undefined, parameters: manifest.parameters, requiredNodes: [] });
    assert.equal(templateCreateBody({ slug: 'x', version: '1.0.0' }), undefined);
    assert.equal(templateCreateBody({ ...(manifest as never as object), slug: undefined } as never, 'other')?.slug, 'other');
  });
});

// Every Linesight node as the editor really loads it (Chromium): in the palette category "Linesight"
// (config nodes under "config"), with an icon, a label, help in Node-RED's format, and editor defaults
// that equal the defaults of the config schema generated from its `.schema.ts` (the one source of truth).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT, paletteNodeFiles } from '../../runtime/paths';
import { openEditor } from './support/editor';
import { useE2E } from './support/harness';

interface EditorDef {
  category: string;
  icon: string | null;
  hasLabel: boolean;
  paletteLabel: string | null;
  inputs: number;
  outputs: number;
  defaults: Record<string, { value: unknown; required?: boolean }>;
  help: string;
}

const types = Object.keys(paletteNodeFiles());
const schemaName = (t: string) => `${t.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('')}Config`;

describe('e2e: editor completeness of every Linesight node (Chromium)', function () {
  this.timeout(180_000);
  const e2e = useE2E();
  const defs = new Map<string, EditorDef | null>();

  before(async function () {
    const rt = await e2e.runtime({ tier: 'line' });
    const browser = await e2e.browser('editor-completeness');
    await openEditor(browser.page, rt.url);
    for (const t of types) {
      defs.set(t, await browser.page.evaluate((type) => {
        const RED = (window as any).RED;
        const d = RED.nodes.getType(type);
        if (!d) return null;
        return {
          category: d.category,
          icon: typeof d.icon === 'function' ? 'function' : d.icon ?? null,
          hasLabel: typeof d.label === 'function' || typeof d.label === 'string',
          paletteLabel: typeof d.paletteLabel === 'function' ? 'function' : d.paletteLabel ?? null,
          inputs: d.inputs ?? 0,
          outputs: d.outputs ?? 0,
          defaults: JSON.parse(JSON.stringify(d.defaults ?? {})),
          help: String(RED.nodes.getNodeHelp(type) ?? ''),
        };
      }, t));
    }
    await browser.shot('palette');
  });

  for (const t of types) {
    describe(t, () => {
      it('is registered in the editor, in the Linesight category (config nodes: config), with an icon and a label', () => {
        const d = defs.get(t);
        assert.ok(d, `${t} is registered in the editor`);
        if (d.category === 'config') return assert.ok(d.hasLabel, 'label');
        assert.equal(d.category, 'Linesight');
        assert.ok(d.icon, 'icon');
        assert.ok(d.hasLabel, 'label');
      });

      it('has help in Node-RED\'s format (Inputs/Outputs for its ports, Details)', () => {
        const d = defs.get(t)!;
        assert.ok(d.help.length > 80, 'help text');
        if (d.category !== 'config') {
          if (d.inputs > 0) assert.match(d.help, /<h3>\s*Inputs\s*<\/h3>/i, 'Inputs section');
          if (d.outputs > 0) assert.match(d.help, /<h3>\s*Outputs\s*<\/h3>/i, 'Outputs section');
        }
        assert.match(d.help, /<h3>\s*Details\s*<\/h3>/i, 'Details section');
      });

      it('has editor defaults equal to its config schema\'s defaults', () => {
        const file = path.join(PACKAGE_ROOT, 'dist', 'schemas', `${schemaName(t)}.json`);
        assert.ok(fs.existsSync(file), `${schemaName(t)} schema exists`);
        const schema = JSON.parse(fs.readFileSync(file, 'utf8')) as { properties: Record<string, { default?: unknown }> };
        const d = defs.get(t)!;
        const problems: string[] = [];
        for (const [k, p] of Object.entries(schema.properties)) {
          if (!(k in d.defaults)) {
            if (p.default !== undefined) problems.push(`${k}: schema default ${JSON.stringify(p.default)}, not in the editor defaults`);
            continue;
          }
          if (p.default !== undefined && JSON.stringify(d.defaults[k].value) !== JSON.stringify(p.default) && String(d.defaults[k].value) !== String(p.default)) {
            problems.push(`${k}: editor ${JSON.stringify(d.defaults[k].value)} vs schema ${JSON.stringify(p.default)}`);
          }
        }
        assert.deepEqual(problems, []);
      });
    });
  }
});

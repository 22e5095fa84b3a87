// The editors as they ship (dist/nodes/<node>/<node>.html): their scripts run against a stand-in
// `RED`, and what they register is compared with the generated config schemas. A default, a required
// flag or a constraint that differs from the schema fails here, in milliseconds, without a browser.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { PACKAGE_ROOT, paletteNodeFiles } from '../../../../../runtime/paths';
import { neutralValue, resolveProperty, type ConfigSchema, type EditorDefault } from '../../../../../nodes/kit/editor/editor-defaults';
import { referencedKeys, lookup } from '../../../../../nodes/kit/editor/form';

// Properties an editor checks against other nodes (crossChecks): the tags of the wired or chosen plc-endpoint.
const CROSS_CHECKED = new Set(['defect-rule.rules', 'plc-read.tags']);

interface Registered {
  category: string;
  defaults: Record<string, EditorDefault>;
  credentials?: Record<string, { type: string }>;
}

// The palette's node list; its paths (dist/nodes/...) are the same relative to the project root.
const nodes = paletteNodeFiles();
const types = Object.keys(nodes);
const distDir = (type: string) => path.join(PACKAGE_ROOT, path.dirname(nodes[type]));
const html = (type: string) => fs.readFileSync(path.join(distDir(type), `${type}.html`), 'utf8');
const schemaOf = (type: string): ConfigSchema => {
  const adapter = fs.readFileSync(path.join(PACKAGE_ROOT, 'nodes', type, `${type}.ts`), 'utf8');
  const name = /configSchema:\s*'(\w+)'/.exec(adapter)![1];
  return JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'dist', 'schemas', `${name}.json`), 'utf8'));
};

/** Runs a node's editor scripts the way the editor does, with a `RED` that records registrations. */
function loadEditor(type: string): Registered {
  const registered = new Map<string, Registered>();
  const RED = {
    nodes: {
      registerType: (t: string, def: Registered) => registered.set(t, def),
      getType: () => undefined,
    },
    // Without a catalog a key comes back as itself, with its variables, so messages can be checked.
    _: (key: string, vars?: Record<string, unknown>) => (vars && Object.keys(vars).length ? `${key} ${JSON.stringify(vars)}` : key),
    notify: () => {},
  };
  const context = vm.createContext({ RED, $: () => { throw new Error('no DOM at load time'); } });
  for (const m of html(type).matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)) vm.runInContext(m[1], context);
  const def = registered.get(type);
  assert.ok(def, `${type}.html registers ${type}`);
  return def;
}

function acceptsBlankString(prop: ReturnType<typeof resolveProperty>): boolean {
  return !(prop.minLength ?? 0) && !(prop.enum && !prop.enum.includes('')) && !(prop.pattern && !new RegExp(prop.pattern).test(''));
}

describe('generated editors against the config schemas', () => {
  for (const type of types) {
    describe(type, () => {
      const schema = schemaOf(type);
      const def = loadEditor(type);

      it('has exactly the schema\'s properties as defaults, with the schema default (or the neutral value)', () => {
        assert.deepEqual(Object.keys(def.defaults).sort(), Object.keys(schema.properties).sort());
        for (const [prop, raw] of Object.entries(schema.properties)) {
          const expected = raw.default !== undefined ? raw.default : neutralValue(resolveProperty(schema, raw));
          // JSON: values made in the editor's script context are of another realm.
          assert.deepEqual(JSON.parse(JSON.stringify(def.defaults[prop].value)), expected, `${type}.${prop}`);
        }
      });

      it('marks required exactly what the schema requires and refuses empty, and names config-node types', () => {
        for (const [prop, raw] of Object.entries(schema.properties)) {
          const p = resolveProperty(schema, raw);
          const type_ = Array.isArray(p.type) ? p.type[0] : p.type;
          const blankOk = type_ === 'boolean' || type_ === 'array' || type_ === 'object' || (type_ === 'string' && acceptsBlankString(p)) || (type_ === undefined && !p.enum);
          const required = (schema.required ?? []).includes(prop) && !blankOk;
          assert.equal(def.defaults[prop].required === true, required, `${type}.${prop} required`);
          assert.equal(def.defaults[prop].type, p.nodeType, `${type}.${prop} config-node type`);
        }
      });

      it('has an input for every property the schema has (lists are filled by the node\'s script)', () => {
        const prefix = def.category === 'config' ? 'node-config-input-' : 'node-input-';
        for (const [prop, raw] of Object.entries(schema.properties)) {
          if (resolveProperty(schema, raw).type === 'array') continue;
          assert.match(html(type), new RegExp(`id="${prefix}${prop}"`), `${type}: an input for ${prop}`);
        }
        for (const cred of Object.keys(def.credentials ?? {})) assert.match(html(type), new RegExp(`id="${prefix}${cred}"`), `${type}: an input for credential ${cred}`);
      });

      it('keeps credentials out of the defaults', () => {
        for (const cred of Object.keys(def.credentials ?? {})) assert.ok(!(cred in def.defaults), `${type}: credential ${cred} is not a default`);
      });

      it('validates every constrained property: the default passes, a value outside the constraint gives a reason', () => {
        for (const [prop, raw] of Object.entries(schema.properties)) {
          const p = resolveProperty(schema, raw);
          const validate = def.defaults[prop].validate;
          const constrained = !p.nodeType && (p.enum || p.minimum !== undefined || p.maximum !== undefined || p.type === 'number' || p.type === 'integer' || p.pattern || p.minLength || CROSS_CHECKED.has(`${type}.${prop}`));
          assert.equal(Boolean(validate), Boolean(constrained), `${type}.${prop} has a validator exactly when the schema constrains it`);
          if (!validate) continue;
          if (p.default !== undefined) assert.equal(validate.call({}, p.default, {}), true, `${type}.${prop}: default ${JSON.stringify(p.default)} passes`);
          if (p.maximum !== undefined) assert.match(String(validate.call({}, String(p.maximum + 1), { label: prop })), new RegExp(`^${prop}: kit\\.validation\\.maximum`));
          if (p.minimum !== undefined) assert.match(String(validate.call({}, String(p.minimum - 1), { label: prop })), new RegExp(`^${prop}: kit\\.validation\\.minimum`));
          if (p.enum) assert.match(String(validate.call({}, 'not-a-choice', { label: prop })), /kit\.validation\.enum/);
          // Without `opt` (a 2.x-style call) a failure is a plain false.
          if (p.enum) assert.equal(validate.call({}, 'not-a-choice'), false);
        }
      });
    });
  }

  it('number validators follow integer, minimum and maximum (plc-read intervalMs: integer 0..86400000)', () => {
    const validate = loadEditor('plc-read').defaults.intervalMs.validate!;
    const cases: Array<[unknown, boolean | RegExp]> = [
      ['1000', true], [250, true], ['0', true], ['${POLL_MS}', true],
      ['1.5', /kit\.validation\.integer/], ['-1', /kit\.validation\.minimum/], ['86400001', /kit\.validation\.maximum/], ['fast', /kit\.validation\.number/], ['', /kit\.validation\.number/],
    ];
    for (const [value, expected] of cases) {
      const got = validate.call({}, value, { label: 'Every' });
      if (expected === true) assert.equal(got, true, `${JSON.stringify(value)} passes`);
      else assert.match(String(got), expected as RegExp, `${JSON.stringify(value)}`);
    }
  });

  it('pattern validators use the schema pattern (cloud-broker url)', () => {
    const validate = loadEditor('cloud-broker').defaults.url.validate!;
    assert.equal(validate.call({}, 'mqtts://broker:8883', {}), true);
    assert.match(String(validate.call({}, 'http://broker', { label: 'URL' })), /^URL: kit\.validation\.pattern/);
  });

  it('a cross-field check joins the schema check (timescale-sink: a table name when the target is custom)', () => {
    const validate = loadEditor('timescale-sink').defaults.table.validate!;
    assert.equal(validate.call({ target: 'contracts' }, '', {}), true);
    assert.match(String(validate.call({ target: 'custom' }, '', { label: 'Table' })), /kit\.validation\.invalid/);
    assert.equal(validate.call({ target: 'custom' }, 'oven_readings', {}), true);
    assert.match(String(validate.call({ target: 'custom' }, 'bad name', { label: 'Table' })), /kit\.validation\.pattern/);
  });
});

describe('message catalogs (en-US and zh-CN)', () => {
  const LANGS = ['en-US', 'zh-CN'];
  const keysOf = (obj: unknown, prefix = ''): string[] =>
    obj && typeof obj === 'object' ? Object.entries(obj).flatMap(([k, v]) => keysOf(v, prefix ? `${prefix}.${k}` : k)) : [prefix];
  const catalog = (type: string, lang: string) => JSON.parse(fs.readFileSync(path.join(distDir(type), 'locales', lang, `${type}.json`), 'utf8'));

  for (const type of types) {
    it(`${type}: both languages say the same things, the form's every text is in both, help in both`, () => {
      const [english, chinese] = LANGS.map((lang) => catalog(type, lang));
      assert.deepEqual(keysOf(chinese).sort(), keysOf(english).sort(), 'zh-CN has exactly the keys of en-US');
      const template = /<script type="text\/html" data-template-name="[^"]+">[\s\S]*?<\/script>/.exec(html(type))![0];
      for (const key of referencedKeys(template)) {
        for (const [lang, cat] of [['en-US', english], ['zh-CN', chinese]] as const) assert.ok(lookup(cat, key) !== undefined, `${lang} ${type}.json has ${key}`);
      }
      for (const lang of LANGS) {
        const help = fs.readFileSync(path.join(distDir(type), 'locales', lang, `${type}.html`), 'utf8');
        assert.match(help, new RegExp(`data-help-name="${type}"`), `${lang} help of ${type}`);
      }
    });
  }

  it('the Chinese catalogs are Chinese (a label of every node is written in Han characters)', () => {
    for (const type of types) {
      const labels = Object.values((catalog(type, 'zh-CN')[type]?.label ?? {}) as Record<string, string>);
      assert.ok(labels.some((l) => /\p{Script=Han}/u.test(l)), `${type}: a Chinese label`);
    }
  });
});

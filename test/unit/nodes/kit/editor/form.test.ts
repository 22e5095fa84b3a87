// The form renderer on its own: controls chosen from the schema, texts only where the catalog has
// them (node key first, then the kit's), prefixes for config nodes, and a form naming a property the
// schema does not have fails the build instead of shipping a dead input.
import assert from 'node:assert/strict';
import { renderTemplate, referencedKeys, type FormSpec } from '../../../../../nodes/kit/editor/form';
import { nameRow, tlsFileRows } from '../../../../../nodes/kit/editor/components';

const schema = {
  properties: {
    name: { type: 'string' },
    broker: { type: 'string', minLength: 1, nodeType: 'cloud-broker' },
    qos: { type: 'number', enum: [0, 1, 2], default: 1 },
    retain: { type: 'boolean', default: false },
    window: { type: 'integer', minimum: 1, default: 10 },
    caFile: { type: 'string' },
  },
  required: ['broker', 'qos'],
};
const catalog = {
  demo: { label: { broker: 'Broker', qos: 'QoS', window: 'Window' }, suffix: { window: 'messages' }, options: { qos: { '2': 'exactly once' } } },
  kit: { label: { name: 'Name', caFile: 'CA file' }, placeholder: { name: 'Name' } },
};
const spec = (over: Partial<FormSpec> = {}): FormSpec => ({ type: 'demo', config: false, schema, rows: [], catalog, ...over });

describe('editor kit: form rendering', () => {
  it('chooses each control from the schema and labels it from the catalog', () => {
    const html = renderTemplate(spec({ rows: [nameRow, { prop: 'broker', icon: 'globe' }, 'qos', 'retain', 'window', ...tlsFileRows(['caFile'], 'tls')] }));
    assert.match(html, /^<script type="text\/html" data-template-name="demo">/);
    assert.match(html, /<input type="text" id="node-input-name" placeholder="Name" data-i18n="\[placeholder\]kit.placeholder.name">/);
    assert.match(html, /<i class="fa fa-globe"><\/i> <span data-i18n="demo.label.broker">Broker<\/span>/);
    assert.match(html, /<input type="text" id="node-input-broker">/, 'a config-node reference is a plain input Node-RED turns into a picker');
    assert.match(html, /<select id="node-input-qos"><option value="0">0<\/option><option value="1">1<\/option><option value="2" data-i18n="demo.options.qos.2">exactly once<\/option><\/select>/);
    assert.match(html, /<input type="checkbox" id="node-input-retain"/);
    assert.match(html, /<input type="text" id="node-input-window" style="width:90px">\n\s*<span data-i18n="demo.suffix.window">messages<\/span>/);
    assert.match(html, /<div class="form-row tls">[\s\S]*kit.label.caFile/);
    assert.ok(!html.includes('demo.label.retain'), 'no key the catalog lacks');
    assert.deepEqual(referencedKeys(html), ['demo.label.broker', 'demo.label.qos', 'demo.label.window', 'demo.options.qos.2', 'demo.suffix.window', 'kit.label.caFile', 'kit.label.name', 'kit.placeholder.name']);
  });

  it('uses the config-node prefix and renders credentials as password inputs', () => {
    const html = renderTemplate(spec({ config: true, credentials: { password: { type: 'password' } }, rows: ['window', 'password'] }));
    assert.match(html, /id="node-config-input-window"/);
    assert.match(html, /<input type="password" id="node-config-input-password">/);
  });

  it('refuses a row naming a property that is neither in the schema nor a credential', () => {
    assert.throws(() => renderTemplate(spec({ rows: ['colour'] })), /demo: the form names "colour"/);
  });

  it('inlines an included part and fills {prefix} in custom rows', () => {
    const html = renderTemplate(spec({ rows: [{ include: 'part.html' }, { html: '<ol id="{prefix}items-list"></ol>', rowClass: 'items-row' }], readInclude: (f) => `<div id="from-${f}"></div>\n` }));
    assert.match(html, /<div id="from-part.html"><\/div>\n  <div class="form-row items-row">\n    <ol id="node-input-items-list"><\/ol>/);
  });
});

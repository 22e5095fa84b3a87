// The edit form of a node as data: rows of fields named by their config property. The build renders
// it to the `data-template-name` HTML Node-RED needs (the registry finds node types by that tag, so it
// must be in the file, not created later in the browser). The control comes from the schema (boolean:
// checkbox, enum: select, number: narrow input, `@nodeType`: config picker, credential: password),
// texts come from the node's message catalog: `<type>.label.<prop>`, `<type>.placeholder.<prop>`,
// `<type>.suffix.<prop>` (text after the input), `<type>.options.<prop>.<value>`. A key that the
// English catalog lacks is left out, so a form says only what its catalog says.
import { resolveProperty, type ConfigSchema, type PropertySchema } from './editor-defaults';

export type Control = 'text' | 'number' | 'checkbox' | 'select' | 'textarea' | 'password' | 'config';

export interface Field {
  prop: string;
  /** Font Awesome icon name without `fa-`, shown before the row's label. */
  icon?: string;
  control?: Control;
  /** CSS width of the input, e.g. '80px' or '35%'. */
  width?: string;
  /** Select options in this order (must be values of the schema's enum); default: the enum. */
  options?: Array<string | number>;
  /** Textarea height in lines. */
  lines?: number;
  monospace?: boolean;
}

export interface FieldRow {
  fields: Array<string | Field>;
  /** Classes the node's script shows and hides (e.g. one group per protocol). */
  group?: string;
  /** A row whose first field is a checkbox labelled by its suffix, with an empty label column. */
  checkboxFirst?: boolean;
}

/** A row of the node's own making (a list, a button): its inner HTML, texts through `data-i18n`. */
export interface CustomRow {
  html: string;
  group?: string;
  /** Extra classes on the row, e.g. the one an editable list's resize code finds it by. */
  rowClass?: string;
}

/** A large hand-written part of a form (the defect-rule table): an HTML file beside the node, read by the build. */
export interface IncludedRows {
  include: string;
}

export type Row = string | Field | FieldRow | CustomRow | IncludedRows;

export type Catalog = Record<string, unknown>;

export interface FormSpec {
  type: string;
  /** Config nodes use the `node-config-input-` prefix. */
  config: boolean;
  schema: ConfigSchema;
  /** Credential properties (never in the schema, never in `defaults`). */
  credentials?: Record<string, { type: 'text' | 'password' }>;
  rows: Row[];
  /** The node's English catalog, merged with the kit's. */
  catalog: Catalog;
  /** Reads an `include` file from the node's folder. */
  readInclude?: (file: string) => string;
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A dotted key's text in a catalog, or undefined. */
export function lookup(catalog: Catalog, key: string): string | undefined {
  let at: unknown = catalog;
  for (const part of key.split('.')) {
    if (!at || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return typeof at === 'string' ? at : undefined;
}

/** Every catalog key a rendered form refers to (the tests check both languages hold them). */
export function referencedKeys(html: string): string[] {
  const keys = new Set<string>();
  for (const m of html.matchAll(/data-i18n="([^"]+)"/g)) {
    for (const part of m[1].split(';')) keys.add(part.replace(/^\[[a-z]+\]/, ''));
  }
  return [...keys].sort();
}

function controlOf(spec: FormSpec, field: Field): Control {
  if (field.control) return field.control;
  const credential = spec.credentials?.[field.prop];
  if (credential) return credential.type === 'password' ? 'password' : 'text';
  const raw = spec.schema.properties[field.prop];
  if (!raw) throw new Error(`${spec.type}: the form names "${field.prop}", which is neither in the config schema nor a credential`);
  const prop = resolveProperty(spec.schema, raw);
  if (prop.nodeType) return 'config';
  if (prop.enum) return 'select';
  const type = Array.isArray(prop.type) ? prop.type[0] : prop.type;
  if (type === 'boolean') return 'checkbox';
  if (type === 'number' || type === 'integer') return 'number';
  return 'text';
}

/** A text from the catalog: the element carries `data-i18n` and the English text as its content. */
function text(spec: FormSpec, key: string, tag = 'span', attrs = ''): string {
  const ref = catalogKey(spec, key);
  if (ref === undefined) return '';
  return `<${tag}${attrs} data-i18n="${ref}">${escapeHtml(lookup(spec.catalog, ref)!)}</${tag}>`;
}

/** The node's own key (`<type>.<key>`), else the kit's shared one (`kit.<key>`), else undefined. */
function catalogKey(spec: FormSpec, key: string): string | undefined {
  return [`${spec.type}.${key}`, `kit.${key}`].find((k) => lookup(spec.catalog, k) !== undefined);
}

function inputHtml(spec: FormSpec, field: Field, id: string): string {
  const control = controlOf(spec, field);
  const styles: string[] = [];
  if (field.width) styles.push(`width:${field.width}`);
  else if (control === 'number') styles.push('width:90px');
  if (control === 'checkbox') styles.push('width:auto', 'vertical-align:top');
  if (field.monospace) styles.push('font-family:monospace');
  const style = styles.length ? ` style="${styles.join(';')}"` : '';
  const placeholderKey = catalogKey(spec, `placeholder.${field.prop}`);
  const placeholder = placeholderKey ? ` placeholder="${escapeHtml(lookup(spec.catalog, placeholderKey)!)}" data-i18n="[placeholder]${placeholderKey}"` : '';
  switch (control) {
    case 'checkbox':
      return `<input type="checkbox" id="${id}"${style}>`;
    case 'password':
      return `<input type="password" id="${id}"${style}${placeholder}>`;
    case 'textarea':
      return `<textarea id="${id}" rows="${field.lines ?? 3}" style="width:${field.width ?? '70%'}${field.monospace ? ';font-family:monospace' : ''}"${placeholder}></textarea>`;
    case 'select': {
      const prop = resolveProperty(spec.schema, spec.schema.properties[field.prop] as PropertySchema);
      const values = field.options ?? prop.enum ?? [];
      const options = values.map((v) => {
        const key = catalogKey(spec, `options.${field.prop}.${v}`);
        const label = key === undefined ? undefined : lookup(spec.catalog, key);
        return label === undefined ? `<option value="${escapeHtml(String(v))}">${escapeHtml(String(v))}</option>` : `<option value="${escapeHtml(String(v))}" data-i18n="${key}">${escapeHtml(label)}</option>`;
      });
      return `<select id="${id}"${style}>${options.join('')}</select>`;
    }
    default:
      return `<input type="text" id="${id}"${style}${placeholder}>`;
  }
}

const asField = (f: string | Field): Field => (typeof f === 'string' ? { prop: f } : f);
const isCustom = (r: Row): r is CustomRow => typeof r === 'object' && 'html' in r;
const isFieldRow = (r: Row): r is FieldRow => typeof r === 'object' && 'fields' in r;

function rowHtml(spec: FormSpec, row: Row): string {
  const prefix = spec.config ? 'node-config-input-' : 'node-input-';
  if (typeof row === 'object' && 'include' in row) {
    if (!spec.readInclude) throw new Error(`${spec.type}: the form includes ${row.include}, but nothing can read it here`);
    return spec.readInclude(row.include).trimEnd();
  }
  if (isCustom(row)) {
    const classes = ['form-row', row.rowClass, row.group].filter(Boolean).join(' ');
    return `  <div class="${classes}">\n    ${row.html.replaceAll('{prefix}', prefix)}\n  </div>`;
  }
  const fieldRow: FieldRow = isFieldRow(row) ? row : { fields: [row] };
  const fields = fieldRow.fields.map(asField);
  const first = fields[0];
  const icon = first.icon ? `<i class="fa fa-${first.icon}"></i> ` : '';
  const parts: string[] = [];
  if (fieldRow.checkboxFirst) parts.push(`<label for="${prefix}${first.prop}">${icon}&nbsp;</label>`);
  else parts.push(`<label for="${prefix}${first.prop}">${icon}${text(spec, `label.${first.prop}`)}</label>`);
  fields.forEach((field, i) => {
    // A second field on a row says what it is in a small label of its own.
    if (i > 0) parts.push(text(spec, `label.${field.prop}`, 'label', ` for="${prefix}${field.prop}" style="width:auto;margin:0 4px 0 10px"`));
    parts.push(inputHtml(spec, field, prefix + field.prop));
    parts.push(text(spec, `suffix.${field.prop}`));
  });
  const classes = ['form-row', fieldRow.group].filter(Boolean).join(' ');
  return `  <div class="${classes}">\n    ${parts.filter(Boolean).join('\n    ')}\n  </div>`;
}

/** The whole `<script type="text/html" data-template-name>` element. */
export function renderTemplate(spec: FormSpec): string {
  const rows = spec.rows.map((row) => rowHtml(spec, row));
  return `<script type="text/html" data-template-name="${spec.type}">\n${rows.join('\n')}\n</script>\n`;
}

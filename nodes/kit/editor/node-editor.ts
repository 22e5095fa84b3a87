// One node's editor: its form (rendered into the HTML at build time) and its behaviour in the browser
// (registered with `registerEditor`, the defaults generated from the config schema).
import { editorDefaults, type ConfigSchema } from './editor-defaults';
import type { Row } from './form';
import { editorGlobals, type EditedNode, type NodeDefinition } from './red';

export interface NodeEditor {
  type: string;
  category: 'Linesight' | 'config';
  color?: string;
  icon?: string;
  align?: 'left' | 'right';
  inputs?: number;
  outputs?: number;
  outputLabels?: string[];
  paletteLabel?: string;
  credentials?: Record<string, { type: 'text' | 'password' }>;
  rows: Row[];
  label: (this: EditedNode) => string;
  /**
   * Checks across fields (or nodes) that one property's schema cannot say, e.g. "a table name when the
   * target is custom". false: invalid; a string: invalid, and why (shown on the node's warning).
   */
  crossChecks?: Record<string, (this: EditedNode, value: unknown) => boolean | string>;
  oneditprepare?: (this: EditedNode) => void;
  oneditsave?: (this: EditedNode) => void;
  oneditresize?: (this: EditedNode, size: { height: number; width: number }) => void;
}

/** The `RED.nodes.registerType` definition: behaviour from the editor module, defaults from the schema. */
export function nodeDefinition(editor: NodeEditor, schema: ConfigSchema, translate: (key: string, vars?: Record<string, unknown>) => string): NodeDefinition {
  const defaults = editorDefaults(schema, (key, vars) => translate(key, vars), (prop) => {
    const label = translate(`${editor.type}.label.${prop}`);
    return label && label !== `${editor.type}.label.${prop}` ? label : prop;
  });
  for (const [prop, check] of Object.entries(editor.crossChecks ?? {})) {
    const own = defaults[prop].validate;
    defaults[prop].validate = function validate(this: unknown, value: unknown, opt?: { label?: string }) {
      const first = own ? own.call(this, value, opt) : true;
      if (first !== true) return first;
      const verdict = check.call(this as EditedNode, value);
      if (verdict === true) return true;
      return opt ? `${opt.label ?? prop}: ${typeof verdict === 'string' ? verdict : translate('kit.validation.invalid')}` : false;
    };
  }
  const { type: _type, rows: _rows, crossChecks: _checks, ...behaviour } = editor;
  return { ...behaviour, defaults };
}

/** Registers the node with the editor; `schema` is inlined into the bundle by the build. */
export function registerEditor(editor: NodeEditor, schema: ConfigSchema): void {
  const { RED } = editorGlobals();
  // Messages of the node's own catalog: Node-RED registers it under the node set's id, which the
  // editor only knows after registration, so the translator looks the namespace up when called.
  const translate = (key: string, vars?: Record<string, unknown>) => {
    const ns = namespaceOf(editor.type);
    return ns ? RED._(`${ns}:${key}`, vars) : key;
  };
  RED.nodes.registerType(editor.type, nodeDefinition(editor, schema, translate));
}

function namespaceOf(type: string): string | undefined {
  const { RED } = editorGlobals();
  const nodes = RED.nodes as unknown as { getType(t: string): { set?: { id: string } } | undefined };
  return nodes.getType(type)?.set?.id;
}

// The part of the Node-RED 4.1 editor API (`window.RED`, jQuery's `$`) Linesight editors use, typed,
// so editor code is checked by tsc like the rest (the project's lib has no DOM; these are enough).
import type { EditorDefault } from './editor-defaults';

export interface JQueryLike {
  val(): string;
  val(value: unknown): JQueryLike;
  on(event: string, handler: (this: unknown, ...args: unknown[]) => void): JQueryLike;
  trigger(event: string): JQueryLike;
  toggle(show: boolean): JQueryLike;
  text(value: string): JQueryLike;
  css(name: string, value: string): JQueryLike;
  find(selector: string): JQueryLike;
  prop(name: string): unknown;
  prop(name: string, value: unknown): JQueryLike;
  appendTo(target: JQueryLike | unknown): JQueryLike;
  parent(): JQueryLike;
  closest(selector: string): JQueryLike;
  insertAfter(target: JQueryLike): JQueryLike;
  empty(): JQueryLike;
  append(content: JQueryLike | string): JQueryLike;
  each(fn: (this: unknown, index: number) => void): JQueryLike;
  outerHeight(includeMargin?: boolean): number;
  // editableList is a Node-RED jQuery widget with a string-dispatched API.
  editableList(...args: unknown[]): JQueryLike;
}

export type Dollar = (selector: unknown) => JQueryLike;

/** What `this` is inside a node definition's callbacks: the node being edited, plus its translator. */
export interface EditedNode {
  [prop: string]: unknown;
  _(key: string, vars?: Record<string, unknown>): string;
}

export interface NodeDefinition {
  category: string;
  color?: string;
  defaults: Record<string, EditorDefault>;
  credentials?: Record<string, { type: 'text' | 'password' }>;
  inputs?: number;
  outputs?: number;
  outputLabels?: string[];
  icon?: string;
  align?: 'left' | 'right';
  paletteLabel?: string;
  label?: (this: EditedNode) => string;
  oneditprepare?: (this: EditedNode) => void;
  oneditsave?: (this: EditedNode) => void;
  oneditresize?: (this: EditedNode, size: { height: number; width: number }) => void;
}

export interface RedEditor {
  nodes: {
    registerType(type: string, definition: NodeDefinition): void;
    /** A node or config node of the workspace by id. */
    node(id: string): Record<string, unknown> | undefined;
    filterLinks(filter: { source?: { id: string }; sourcePort?: number }): Array<{ target: { id: string } }>;
  };
  notify(message: string, type?: 'warning' | 'error' | 'success' | 'compact'): void;
  _(key: string, vars?: Record<string, unknown>): string;
}

/** The editor's globals, read when a callback runs (never at module load, so the build can load specs). */
export const editorGlobals = (): { RED: RedEditor; $: Dollar } => {
  const g = globalThis as unknown as { RED: RedEditor; $: Dollar };
  return { RED: g.RED, $: g.$ };
};

/**
 * Shows and hides groups of rows by the value of one select: `{ '.ls-tls': (v) => v !== 'none' }`.
 * Runs once now and on every change.
 */
export function showGroupsBy(select: string, groups: Record<string, (value: string) => boolean>): void {
  const { $ } = editorGlobals();
  const apply = () => {
    const value = $(select).val();
    for (const [group, visible] of Object.entries(groups)) $(group).toggle(visible(value));
  };
  $(select).on('change', apply);
  apply();
}

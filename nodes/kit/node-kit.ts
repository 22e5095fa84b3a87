// The thin layer every Linesight node is registered through: config validation against the generated
// schema, the status vocabulary, and the error convention (done(err) so Catch nodes see the message).
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';
import { validatorFor, toProblems, ValidationError } from '../../contracts/schemas';
import { redactText } from '../../lib/redact';
import { LinesightError } from '../../contracts/errors';
import { statusText } from './status-text';

export { LinesightError };

export type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow };
export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type Done = (err?: Error) => void;

/** The kit's status words in English: the answer when no catalog has the word. */
const STATUS_WORDS = {
  ok: 'ok',
  connecting: 'connecting',
  disconnected: 'disconnected',
  failed: 'failed',
  invalidConfig: 'invalid config',
  failedToStart: 'failed to start',
};
export type StatusWord = keyof typeof STATUS_WORDS;

type Translate = (key: string, vars?: Record<string, unknown>) => string;
let translate: Translate | undefined;

/**
 * Lets the status vocabulary speak the runtime's language (Node-RED's `lang` setting): every node's
 * catalog carries the kit's words under `kit.status.*` (merged in by the build). `defineNode` installs
 * Node-RED's `RED._`; tests may install their own.
 */
export function useTranslator(fn: Translate | undefined): void {
  translate = fn;
}

/** A status word of the kit, translated where a catalog has it. */
export function statusWord(word: StatusWord): string {
  const key = `kit.status.${word}`;
  let text: string | undefined;
  try {
    text = translate?.(key);
  } catch {
    text = undefined;
  }
  // i18next answers a missing key with the key itself (with or without its namespace).
  return text && !text.endsWith(key) ? text : STATUS_WORDS[word];
}

/**
 * Status dots used by every node: one vocabulary, so the editor reads the same everywhere. Every text is
 * shortened at a word boundary and says an address once (status-text.ts).
 */
export const status = {
  /** Connected or idle and healthy. */
  ok: (text = statusWord('ok')): NodeStatus => ({ fill: 'green', shape: 'dot', text: statusText(text) }),
  connecting: (text = statusWord('connecting')): NodeStatus => ({ fill: 'yellow', shape: 'ring', text: statusText(text) }),
  disconnected: (text = statusWord('disconnected')): NodeStatus => ({ fill: 'red', shape: 'ring', text: statusText(text) }),
  /** A failure that needs a person: bad config, a write that cannot succeed. */
  failed: (text = statusWord('failed')): NodeStatus => ({ fill: 'red', shape: 'dot', text: statusText(text) }),
  /** Activity or backlog, e.g. "backlog 1,204". */
  busy: (text: string): NodeStatus => ({ fill: 'blue', shape: 'dot', text: statusText(text) }),
  clear: (): NodeStatus => ({}),
};

function redactLogged<T>(m: T): T {
  if (typeof m === 'string') return redactText(m) as T;
  if (m instanceof Error) {
    const safe = redactText(m.message);
    // The same Error goes on to Catch nodes; only its text changes, and only when it held a secret.
    if (safe !== m.message) m.message = safe;
  }
  return m;
}

/**
 * Every status text and log line of a node passes through `redactText`: a URL with a password in its
 * userinfo or a `?token=` query (typed into a config field, or echoed by a library's error) is never
 * shown in the editor or written to the log. `done(err)` reaches the log through `node.error` too.
 */
export function redactNodeOutput(node: Node<object>): void {
  const target = node as unknown as Record<string, (...a: unknown[]) => unknown>;
  const redactStatus = (st: unknown) => {
    if (typeof st === 'string') return redactText(st);
    if (st && typeof st === 'object' && typeof (st as NodeStatus).text === 'string') return { ...(st as NodeStatus), text: redactText((st as NodeStatus).text as string) };
    return st;
  };
  // A Proxy rather than a new function: whatever the method carries (a test helper's spy and its calls)
  // stays visible on the node, only the first argument is redacted on the way through.
  for (const method of ['status', 'log', 'warn', 'error', 'debug', 'trace']) {
    const redactFirst = method === 'status' ? redactStatus : redactLogged;
    target[method] = new Proxy(target[method], {
      apply: (fn, self, args: unknown[]) => Reflect.apply(fn, self, args.length ? [redactFirst(args[0]), ...args.slice(1)] : args),
    });
  }
}

/** Formats a number for status text: 1204 -> "1,204". */
export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

// Node-RED's own bookkeeping fields; never part of a node's config schema.
const NODE_RED_FIELDS = new Set(['id', 'type', 'z', 'x', 'y', 'g', 'wires', '_users', 'info', 'd', 'l', 'credentials', '_alias']);

/**
 * Validates a node's editor config against its generated schema. Numbers that arrive as strings are
 * coerced, empty strings count as "not set" (so schema defaults apply), and the error names each field.
 */
export function validateConfig<C>(schemaName: string, def: Record<string, unknown>, label: string): C {
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(def)) {
    if (NODE_RED_FIELDS.has(k) || v === '') continue;
    copy[k] = v;
  }
  const validate = validatorFor(schemaName, 'config');
  if (!validate(copy)) throw new ValidationError(`${label} config`, toProblems(validate.errors));
  return copy as C;
}

export interface NodeContext<C, K extends object = Record<string, string>> {
  node: Node<K>;
  config: C;
  RED: NodeAPI;
  /** `type "name"` for messages. */
  label: string;
  /** Node-RED's own definition of the node (its wires, its tab): what the config schema leaves out. */
  def: NodeDef;
}

export interface NodeHandlers {
  /** Called per message. Throw or reject to report the error against the message. */
  input?(msg: NodeMessageInFlow, send: Send, done: Done): void | Promise<void>;
  /** Release connections and timers; awaited before Node-RED finishes a redeploy. */
  close?(removed: boolean): void | Promise<void>;
}

export interface NodeSpec {
  type: string;
  /** Name of the generated schema for this node's config (an interface in a *.schema.ts file). */
  configSchema?: string;
  credentials?: Record<string, { type: 'text' | 'password' }>;
}

/**
 * Registers a node type. `setup` builds the node's core from its validated config and returns its
 * handlers. A config that fails validation leaves the node in a red "invalid config" state, logs an
 * error naming the node, field and reason, and makes every input fail with that reason.
 */
export function defineNode<C, K extends object = Record<string, string>>(
  RED: NodeAPI,
  spec: NodeSpec,
  setup: (ctx: NodeContext<C, K>) => NodeHandlers | void,
): void {
  const redTranslate = (RED as unknown as { _?: Translate })._;
  if (!translate && typeof redTranslate === 'function') useTranslator((key, vars) => redTranslate.call(RED, key, vars));
  function LinesightNode(this: Node<K>, def: NodeDef) {
    RED.nodes.createNode(this as unknown as Node, def);
    const node = this;
    redactNodeOutput(node as unknown as Node<object>);
    const label = `${spec.type} "${def.name || def.id}"`;
    let handlers: NodeHandlers = {};
    let configError: Error | undefined;
    try {
      const config = spec.configSchema
        ? validateConfig<C>(spec.configSchema, def as unknown as Record<string, unknown>, label)
        : (def as unknown as C);
      handlers = setup({ node, config, RED, label, def }) ?? {};
    } catch (err) {
      configError = err as Error;
      node.status(status.failed(err instanceof ValidationError ? statusWord('invalidConfig') : (err as LinesightError).statusText ?? statusWord('failedToStart')));
      node.error(configError.message);
    }
    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
      if (configError) return done(new LinesightError(`${label} is not running: ${configError.message}`));
      if (!handlers.input) return done();
      try {
        const r = handlers.input(msg, send, done);
        if (r && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).catch((err: Error) => done(err));
      } catch (err) {
        done(err as Error);
      }
    });
    node.on('close', (removed: boolean, closed: () => void) => {
      Promise.resolve()
        .then(() => handlers.close?.(removed))
        .catch((err: Error) => node.warn(`${label} close: ${err.message}`))
        .finally(() => closed());
    });
  }
  RED.nodes.registerType(spec.type, LinesightNode as never, spec.credentials ? { credentials: spec.credentials } : undefined);
}

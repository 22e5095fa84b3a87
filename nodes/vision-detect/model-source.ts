// Where a model comes from: a model.onnx with model.json beside it, or a model name resolved through the
// agent's models directory (`<dir>/<name>/current.json`, replaced atomically when the agent installs a new
// version). The watcher reports each new version of current.json once.
import fs from 'node:fs';
import path from 'node:path';
import { ModelError, parseModelCard, type ModelCard } from './model-card';

/** One model version, ready to load. */
export interface ModelRef {
  /** `name@version`. */
  label: string;
  /** Absolute path of the ONNX file. */
  file: string;
  /** Expected sha256 of the file (hex), when the source says it. */
  sha256?: string;
  card: ModelCard;
}

/** The agent's pointer to the version to run, `<dir>/<name>/current.json`. */
export interface CurrentModel {
  name: string;
  version: string;
  /** Relative to `<dir>/<name>/`, e.g. "1.1.0/model.onnx". */
  file: string;
  sha256?: string;
  metadata: unknown;
}

const readJson = (file: string, model: string): unknown => {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ModelError(model, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelError(model, `${file} is not JSON: ${(err as Error).message}`);
  }
};

/** A model given as a file: `…/model.onnx` (model.json beside it) or the folder holding both. */
export function modelFromFile(given: string): ModelRef {
  const resolved = path.resolve(given);
  const file = resolved.endsWith('.onnx') ? resolved : path.join(resolved, 'model.onnx');
  const card = parseModelCard(readJson(path.join(path.dirname(file), 'model.json'), given), path.join(path.dirname(file), 'model.json'));
  return { label: `${card.name}@${card.version}`, file, card, sha256: undefined };
}

/** The version `<dir>/<name>/current.json` points at. */
export function modelFromName(modelsDir: string, name: string): ModelRef {
  const home = path.resolve(modelsDir, name);
  if (path.dirname(home) !== path.resolve(modelsDir)) throw new ModelError(name, 'a model name is one folder name, not a path');
  const pointer = path.join(home, 'current.json');
  const current = readJson(pointer, name) as Partial<CurrentModel>;
  if (!current || typeof current !== 'object') throw new ModelError(name, `${pointer} is not a JSON object`);
  if (current.name !== undefined && current.name !== name) throw new ModelError(name, `${pointer} names model "${String(current.name)}"`);
  if (typeof current.file !== 'string' || !current.file) throw new ModelError(name, `${pointer} has no "file"`);
  const file = path.resolve(home, current.file);
  if (!file.startsWith(home + path.sep)) throw new ModelError(name, `${pointer}: "file" ${current.file} leaves the model's folder`);
  const card = parseModelCard(current.metadata, `${pointer} metadata`);
  if (card.name !== name) throw new ModelError(name, `${pointer} metadata names model "${card.name}"`);
  if (typeof current.version === 'string' && current.version !== card.version) {
    throw new ModelError(`${name}@${current.version}`, `${pointer} says version ${current.version} but its metadata says ${card.version}`);
  }
  if (current.sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(String(current.sha256))) throw new ModelError(`${name}@${card.version}`, `${pointer}: "sha256" is not 64 hex digits`);
  return { label: `${card.name}@${card.version}`, file, card, sha256: current.sha256?.toLowerCase() };
}

/** Identity of what current.json points at: a change in any of these is a new model to load. */
export const refKey = (ref: ModelRef): string => `${ref.label} ${ref.file} ${ref.sha256 ?? ''}`;

export interface WatchOptions {
  /** Slow poll in case fs.watch misses a rename (network file systems, some containers). */
  pollMs: number;
  onChange(ref: ModelRef): void;
  onError(err: Error): void;
  /** current.json is readable again and still points at the model in use. */
  onRecovered?(): void;
}

/**
 * Watches `<dir>/<name>/current.json` (fs.watch on its folder plus a slow poll) and calls onChange once per
 * new version it points at, onError once per broken pointer (the last good model stays in use).
 */
export class ModelWatcher {
  private watcher?: fs.FSWatcher;
  private poll?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private lastKey: string;
  private lastError = '';
  private closed = false;

  constructor(
    private readonly modelsDir: string,
    private readonly name: string,
    current: ModelRef | undefined,
    private readonly o: WatchOptions,
  ) {
    this.lastKey = current ? refKey(current) : '';
    const home = path.resolve(modelsDir, name);
    try {
      this.watcher = fs.watch(home, { persistent: false }, (_event, file) => {
        if (!file || String(file) === 'current.json') this.soon();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // The folder may not exist yet (the agent has not installed anything): the poll finds it later.
    }
    this.poll = setInterval(() => this.check(), o.pollMs);
    this.poll.unref();
  }

  /** A rename shows as several events: look once they settle. */
  private soon(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.check(), 50);
    this.debounce.unref();
  }

  /** Reads current.json now; reports a new version or a new error. */
  check(): void {
    if (this.closed) return;
    let ref: ModelRef;
    try {
      ref = modelFromName(this.modelsDir, this.name);
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.lastError) {
        this.lastError = message;
        this.o.onError(err as Error);
      }
      return;
    }
    const recovered = this.lastError !== '';
    this.lastError = '';
    const key = refKey(ref);
    if (key === this.lastKey) {
      if (recovered) this.o.onRecovered?.();
      return;
    }
    this.lastKey = key;
    this.o.onChange(ref);
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.debounce);
  }
}

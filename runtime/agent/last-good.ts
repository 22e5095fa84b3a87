// The agent's memory on disk: the last flow that passed its health window (the runtime restarts into it
// with no network), the versions that failed here (never retried automatically), and the repository key.
import fs from 'node:fs';
import path from 'node:path';
import type { DesiredState } from '../../contracts/fleet/protocol';
import { ensurePrivateDir, makeTreePrivate, writePrivateFile } from '../../lib/private-files';

export interface LastGood {
  /** "slug@semver" */
  target: string;
  /** sha256 of the signed template flow. */
  sha256: string;
  /** Identifies version + parameters: the same key means nothing to deploy. */
  key: string;
  deploymentId: string | null;
  parameters: DesiredState['parameters'];
  /** The flow as deployed (parameters filled in). */
  flow: unknown[];
  /** The model versions it ran with (what each current.json pointed at); absent before models existed. */
  models?: Array<{ name: string; version: string; sha256: string }>;
  deployedAt: number;
}

export interface FailedTarget {
  key: string;
  target: string;
  state: 'failed' | 'rolled back';
  reasons: string[];
  at: number;
}

/** The last good flow carries filled-in parameters (broker and database URLs, maybe with passwords): 0600. */
function writeAtomic(file: string, text: string): void {
  writePrivateFile(file, text);
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // A torn or hand-broken file is treated as absent rather than stopping the line.
    if (err instanceof SyntaxError) return null;
    throw err;
  }
}

export class AgentStore {
  private readonly lastGoodFile: string;
  private readonly failedFile: string;
  private readonly keyFile: string;
  private readonly generationFile: string;
  private failed: FailedTarget[];
  constructor(readonly dir: string) {
    // 0700 with 0600 files, also for a store an older version left readable.
    ensurePrivateDir(dir);
    makeTreePrivate(dir);
    this.lastGoodFile = path.join(dir, 'last-good.json');
    this.failedFile = path.join(dir, 'failed.json');
    this.keyFile = path.join(dir, 'repository-key.pem');
    this.generationFile = path.join(dir, 'desired-generation.json');
    this.failed = readJson<FailedTarget[]>(this.failedFile) ?? [];
  }

  lastGood(): LastGood | null {
    const lg = readJson<LastGood>(this.lastGoodFile);
    return lg && Array.isArray(lg.flow) && typeof lg.key === 'string' ? lg : null;
  }

  saveLastGood(lg: LastGood): void {
    writeAtomic(this.lastGoodFile, JSON.stringify(lg));
  }

  failure(key: string): FailedTarget | undefined {
    return this.failed.find((f) => f.key === key);
  }

  recordFailure(f: FailedTarget): void {
    // Keep the list short: only recent failures matter for "do not retry".
    this.failed = [f, ...this.failed.filter((x) => x.key !== f.key)].slice(0, 20);
    writeAtomic(this.failedFile, JSON.stringify(this.failed));
  }

  publicKey(): string | null {
    try {
      return fs.readFileSync(this.keyFile, 'utf8');
    } catch {
      return null;
    }
  }

  savePublicKey(pem: string): void {
    writeAtomic(this.keyFile, pem);
  }

  /**
   * The highest desired-state generation accepted under the key with this fingerprint (0 when none): kept
   * next to the pinned key so a restart cannot be replayed into an older state. Another key starts over.
   */
  acceptedGeneration(fingerprint: string): number {
    const g = readJson<{ key?: string; generation?: number }>(this.generationFile);
    return g && g.key === fingerprint && Number.isSafeInteger(g.generation) ? g.generation! : 0;
  }

  saveAcceptedGeneration(fingerprint: string, generation: number): void {
    writeAtomic(this.generationFile, JSON.stringify({ key: fingerprint, generation }));
  }
}

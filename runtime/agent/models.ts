// The agent's model store: downloads each model a desired state names into <modelsDir>/<name>/<version>/
// (resuming a .partial file with HTTP Range, at a bounded rate), verifies the sha256 and the repository's
// signature before anything is installed, installs atomically next to the previous version, and points the
// runtime at a version by rewriting <modelsDir>/<name>/current.json (temp + rename; vision-detect watches it).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { verifyModelVersion, type DesiredModel, type ModelVersionDocument, type RunningModel } from '../../contracts/fleet/protocol';
import { ensurePrivateDir } from '../../lib/private-files';
import { DeviceApiError } from './device-api';

/** What `<modelsDir>/<name>/current.json` holds: the version the runtime should run. */
export interface CurrentModel {
  name: string;
  version: string;
  /** Relative to `<modelsDir>/<name>/`, e.g. `1.2.0/model.onnx`. */
  file: string;
  sha256: string;
  metadata: Record<string, unknown>;
}

/** A model as the last good state remembers it. */
export interface InstalledRef extends RunningModel {
  sha256: string;
}

/** The artifact is not what the repository signed; it is not installed and the current model stays. */
export class ModelRefused extends Error {}

export interface ModelFetcher {
  /** The model version document at `href` (relative to the API root). */
  document(href: string): Promise<ModelVersionDocument>;
  /** Full URL and headers (token) for the artifact at `href`. */
  artifactRequest(href: string): { url: string; headers: Record<string, string> };
}

export interface ModelStoreOptions {
  dir: string;
  fetcher: ModelFetcher;
  /** Download rate limit, bytes per second (default: unlimited). */
  rateBytesPerSec?: number;
  log?: (line: string) => void;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const VERSION = /^[0-9A-Za-z.+-]{1,128}$/;

async function fileSha256(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
}

/** Passes bytes on no faster than `rate` per second (measured from the stream's start). */
export function rateLimiter(rate: number): Transform {
  const started = Date.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sent += chunk.length;
      const due = started + (sent / rate) * 1000 - Date.now();
      if (due > 5) setTimeout(() => cb(null, chunk), due);
      else cb(null, chunk);
    },
  });
}

export class AgentModels {
  readonly dir: string;

  constructor(private readonly o: ModelStoreOptions) {
    this.dir = o.dir;
    ensurePrivateDir(this.dir);
  }

  private modelDir(name: string): string {
    if (!NAME.test(name)) throw new ModelRefused(`model name ${JSON.stringify(name)} is not a valid model name`);
    return path.join(this.dir, name);
  }

  private versionDir(name: string, version: string): string {
    if (!VERSION.test(version) || version.startsWith('.')) throw new ModelRefused(`model version ${JSON.stringify(version)} is not a valid version`);
    return path.join(this.modelDir(name), version);
  }

  static fileName(format: string): string {
    return `model.${/^[a-z0-9]{1,16}$/.test(format) ? format : 'bin'}`;
  }

  /** The installed version's metadata (model.json), or null when it is not installed. */
  installed(name: string, version: string): ModelVersionDocument | null {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.versionDir(name, version), 'model.json'), 'utf8')) as ModelVersionDocument;
    } catch {
      return null;
    }
  }

  current(name: string): CurrentModel | null {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.modelDir(name), 'current.json'), 'utf8')) as CurrentModel;
    } catch {
      return null;
    }
  }

  /**
   * Makes `want` installed and verified: an installed copy is checked again (a file changed on disk is
   * thrown away and fetched anew); otherwise downloaded (resuming), hashed and its signature checked.
   * Throws ModelRefused for an artifact that is not what the repository signed; transport errors as they come.
   */
  async ensure(want: DesiredModel, publicKeyPem: string): Promise<void> {
    const target = this.versionDir(want.name, want.version);
    const have = this.installed(want.name, want.version);
    if (have && have.sha256 === want.sha256) {
      const file = path.join(target, AgentModels.fileName(have.format));
      if (fs.existsSync(file) && (await fileSha256(file)) === want.sha256) return;
      this.o.log?.(`[agent] model ${want.name}@${want.version} on disk does not match its sha256: fetching it again`);
    }
    fs.rmSync(target, { recursive: true, force: true });
    const doc = await this.o.fetcher.document(want.href);
    const docProblems: string[] = [];
    if (doc.name !== want.name || doc.version !== want.version) docProblems.push(`the document is ${doc.name}@${doc.version}`);
    if (doc.sha256 !== want.sha256 || doc.bytes !== want.bytes) docProblems.push(`the document names sha256 ${doc.sha256} (${doc.bytes} bytes), the desired state ${want.sha256} (${want.bytes} bytes)`);
    if (doc.signature !== want.signature || !verifyModelVersion(doc, doc.signature, publicKeyPem)) docProblems.push('its signature does not verify with the repository key');
    if (docProblems.length) throw new ModelRefused(`model ${want.name}@${want.version} refused: ${docProblems.join('; ')}`);

    const partial = path.join(this.modelDir(want.name), `.${want.version}.partial`);
    ensurePrivateDir(this.modelDir(want.name));
    const actual = await this.download(want, partial);
    if (actual !== want.sha256) {
      // Never resumed from: the next attempt starts over.
      fs.rmSync(partial, { force: true });
      throw new ModelRefused(`model ${want.name}@${want.version} refused: the artifact downloaded hashes to ${actual}, not the signed ${want.sha256}`);
    }
    // Installed whole or not at all: staged beside the target, then renamed into place.
    const staging = path.join(this.modelDir(want.name), `.staging-${want.version}-${crypto.randomBytes(4).toString('hex')}`);
    ensurePrivateDir(staging);
    fs.renameSync(partial, path.join(staging, AgentModels.fileName(doc.format)));
    fs.writeFileSync(path.join(staging, 'model.json'), JSON.stringify(doc, null, 2), { mode: 0o600 });
    fs.renameSync(staging, target);
    this.o.log?.(`[agent] model ${want.name}@${want.version} installed (${want.bytes} bytes, sha256 and signature verified)`);
  }

  /**
   * Downloads into `partial`, resuming what is there with Range + If-Range (the sha256 is the ETag), and
   * answers the sha256 of the whole file: hashed as the bytes arrive (what was there before is hashed
   * first), so a 100 MB artifact is not read back from disk to be checked.
   */
  private async download(want: DesiredModel, partial: string): Promise<string> {
    let offset = fs.existsSync(partial) ? fs.statSync(partial).size : 0;
    if (offset > want.bytes) {
      fs.rmSync(partial, { force: true });
      offset = 0;
    }
    if (offset === want.bytes) return fileSha256(partial);
    const { url, headers } = this.o.fetcher.artifactRequest(`${want.href}/artifact`);
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      headers['if-range'] = `"${want.sha256}"`;
      this.o.log?.(`[agent] model ${want.name}@${want.version}: resuming the download at byte ${offset} of ${want.bytes}`);
    }
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = (url.startsWith('https:') ? https : http).get(url, { headers }, resolve);
      req.on('error', (err) => reject(new DeviceApiError(`model ${want.name}@${want.version} download: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
      req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    });
    const status = res.statusCode ?? 0;
    if (status !== 200 && status !== 206) {
      res.resume();
      throw new DeviceApiError(`repository refused model ${want.name}@${want.version} download: HTTP ${status}`, status);
    }
    // 200: the repository sent the whole artifact (it ignored or could not honour the range): start over.
    const hash = crypto.createHash('sha256');
    if (status === 206 && offset > 0) for await (const chunk of fs.createReadStream(partial, { start: 0, end: offset - 1, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    const out = fs.createWriteStream(partial, { flags: status === 206 ? 'a' : 'w', mode: 0o600 });
    const stages: Transform[] = [hashing, ...(this.o.rateBytesPerSec ? [rateLimiter(this.o.rateBytesPerSec)] : [])];
    try {
      await pipeline(res, ...(stages as [Transform, Transform]), out);
    } catch (err) {
      throw new DeviceApiError(`model ${want.name}@${want.version} download cut at byte ${fs.existsSync(partial) ? fs.statSync(partial).size : 0}: ${(err as Error).message}`);
    }
    const size = fs.statSync(partial).size;
    if (size < want.bytes) throw new DeviceApiError(`model ${want.name}@${want.version} download ended at byte ${size} of ${want.bytes}`);
    // More bytes than signed: the hash cannot match; the caller refuses it.
    return hash.digest('hex');
  }

  /** Writes current.json atomically (temp + rename). */
  private writeCurrent(name: string, value: CurrentModel): void {
    const file = path.join(this.modelDir(name), 'current.json');
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, file);
  }

  /**
   * Points each model at the version given (installed by `ensure`); answers what current.json held before,
   * per model, for `restore`.
   */
  switchTo(models: Array<{ name: string; version: string }>): Map<string, CurrentModel | null> {
    const previous = new Map<string, CurrentModel | null>();
    for (const m of models) {
      const doc = this.installed(m.name, m.version);
      if (!doc) throw new ModelRefused(`model ${m.name}@${m.version} is not installed`);
      const before = this.current(m.name);
      previous.set(m.name, before);
      if (before?.version === m.version && before.sha256 === doc.sha256) continue;
      this.writeCurrent(m.name, { name: m.name, version: m.version, file: `${m.version}/${AgentModels.fileName(doc.format)}`, sha256: doc.sha256, metadata: doc.metadata ?? {} });
    }
    return previous;
  }

  /** Puts back what `switchTo` replaced (a model that had no current.json loses it). */
  restore(previous: Map<string, CurrentModel | null>): void {
    for (const [name, before] of previous) {
      if (before) this.writeCurrent(name, before);
      else fs.rmSync(path.join(this.modelDir(name), 'current.json'), { force: true });
    }
  }

  /** Keeps disk bounded: of each model, only the versions in `keep` (current and previous) stay. */
  prune(name: string, keep: string[]): void {
    let entries: string[];
    try {
      entries = fs.readdirSync(this.modelDir(name));
    } catch {
      return;
    }
    for (const e of entries) {
      if (e === 'current.json' || keep.includes(e)) continue;
      // Staging folders and partial downloads of other versions go too; the current download's partial stays.
      if (e.endsWith('.partial') && keep.some((v) => e === `.${v}.partial`)) continue;
      fs.rmSync(path.join(this.modelDir(name), e), { recursive: true, force: true });
    }
  }
}

// Where model artifacts live: uploads in progress (appended chunk by chunk, resumable) and finished
// artifacts addressed by their sha256. The filesystem store (under <dataDir>/models, 0700) is the default;
// an S3-compatible store implements the same interface (multipart upload per upload id, objects keyed
// `blobs/<sha256>`, ranged GETs) — see the README's "Models" section.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ensurePrivateDir } from '../../lib/private-files';

/** More bytes arrived than the upload (or its Content-Range) allows. */
export class TooManyBytes extends Error {}

export interface ModelStorage {
  /** Bytes received so far for an upload (0 when none). */
  uploadOffset(uploadId: string): Promise<number>;
  /**
   * Appends `body` to the upload at `offset` (which must be the current offset), at most `maxBytes`; what
   * arrived before the stream broke stays. Returns the new offset.
   */
  append(uploadId: string, offset: number, body: Readable, maxBytes: number): Promise<number>;
  /** sha256 (hex) of everything received for an upload. */
  uploadSha256(uploadId: string): Promise<string>;
  /** Makes a complete upload the artifact `sha256` (content-addressed: the same bytes are stored once). */
  commit(uploadId: string, sha256: string): Promise<void>;
  discard(uploadId: string): Promise<void>;
  /** Size of the stored artifact, or undefined when absent. */
  size(sha256: string): Promise<number | undefined>;
  /** The artifact's bytes `start`..`end` inclusive. */
  read(sha256: string, start: number, end: number): Readable;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const SHA = /^[0-9a-f]{64}$/;

export class FileModelStorage implements ModelStorage {
  private readonly uploads: string;
  private readonly blobs: string;
  /** Appends to one upload are serialised in this process; the offset check refuses the loser. */
  private readonly busy = new Set<string>();
  /**
   * The running sha256 of each upload this process received from its first byte, and how many bytes it
   * covers: the last chunk then needs no second pass over up to 2 GiB. Any doubt (a restart, a cut whose
   * buffered bytes never reached the disk) and the upload is read back instead.
   */
  private readonly hashes = new Map<string, { hash: crypto.Hash; bytes: number }>();

  constructor(readonly dir: string) {
    ensurePrivateDir(dir);
    this.uploads = path.join(dir, 'uploads');
    this.blobs = path.join(dir, 'blobs');
    ensurePrivateDir(this.uploads);
    ensurePrivateDir(this.blobs);
  }

  private partial(uploadId: string): string {
    if (!ID.test(uploadId)) throw new Error(`bad upload id ${uploadId}`);
    return path.join(this.uploads, `${uploadId}.partial`);
  }

  private blob(sha256: string): string {
    if (!SHA.test(sha256)) throw new Error(`bad sha256 ${sha256}`);
    return path.join(this.blobs, sha256.slice(0, 2), sha256);
  }

  async uploadOffset(uploadId: string): Promise<number> {
    try {
      return (await fs.promises.stat(this.partial(uploadId))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }

  async append(uploadId: string, offset: number, body: Readable, maxBytes: number): Promise<number> {
    if (this.busy.has(uploadId)) throw new OffsetMismatch(await this.uploadOffset(uploadId), 'another request is appending to this upload');
    this.busy.add(uploadId);
    try {
      const now = await this.uploadOffset(uploadId);
      if (now !== offset) throw new OffsetMismatch(now, `the upload is at byte ${now}, not ${offset}`);
      let seen = 0;
      if (offset === 0) this.hashes.set(uploadId, { hash: crypto.createHash('sha256'), bytes: 0 });
      const running = this.hashes.get(uploadId);
      const tracked = running && running.bytes === offset ? running : undefined;
      if (!tracked) this.hashes.delete(uploadId);
      const limit = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          seen += chunk.length;
          if (seen > maxBytes) return cb(new TooManyBytes(`more than the ${maxBytes} bytes announced`));
          if (tracked) {
            tracked.hash.update(chunk);
            tracked.bytes += chunk.length;
          }
          cb(null, chunk);
        },
      });
      const out = fs.createWriteStream(this.partial(uploadId), { flags: 'a', mode: 0o600 });
      try {
        await pipeline(body, limit, out);
      } catch (err) {
        // What arrived before the client went away is kept: the client resumes from HEAD's offset.
        if (err instanceof TooManyBytes) await fs.promises.truncate(this.partial(uploadId), offset).catch(() => {});
        if (tracked && tracked.bytes !== (await this.uploadOffset(uploadId))) this.hashes.delete(uploadId);
        throw err;
      }
      const received = await this.uploadOffset(uploadId);
      if (tracked && tracked.bytes !== received) this.hashes.delete(uploadId);
      return received;
    } finally {
      this.busy.delete(uploadId);
    }
  }

  async uploadSha256(uploadId: string): Promise<string> {
    const running = this.hashes.get(uploadId);
    if (running && running.bytes === (await this.uploadOffset(uploadId))) return running.hash.copy().digest('hex');
    const hash = crypto.createHash('sha256');
    await pipeline(fs.createReadStream(this.partial(uploadId)), hash);
    return hash.digest('hex');
  }

  async commit(uploadId: string, sha256: string): Promise<void> {
    const target = this.blob(sha256);
    ensurePrivateDir(path.dirname(target));
    // rename is atomic: a reader sees the whole artifact or none.
    await fs.promises.rename(this.partial(uploadId), target);
    this.hashes.delete(uploadId);
  }

  async discard(uploadId: string): Promise<void> {
    this.hashes.delete(uploadId);
    await fs.promises.rm(this.partial(uploadId), { force: true });
  }

  async size(sha256: string): Promise<number | undefined> {
    try {
      return (await fs.promises.stat(this.blob(sha256))).size;
    } catch {
      return undefined;
    }
  }

  read(sha256: string, start: number, end: number): Readable {
    return fs.createReadStream(this.blob(sha256), { start, end, highWaterMark: 1 << 20 });
  }
}

/** The client's offset is not where the upload is; `offset` tells where to resume. */
export class OffsetMismatch extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

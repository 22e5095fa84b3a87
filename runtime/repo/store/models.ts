// The model registry: artifacts uploaded in resumable chunks, checked against the sha256 announced,
// stored by content, signed by the repository key and never changed; which model versions a deployment
// resolves to, and which a device may download.
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import semver from 'semver';
import { API_ROOT, signModelVersion, type DesiredModel, type ModelMetadata, type ModelVersionDocument } from '../../../contracts/fleet/protocol';
import type { FieldProblem } from '../../../contracts/schemas';
import type { RepoModelPins, RepoModelRequirement, RepoModelUploadCreate } from '../api.schema';
import type { Principal } from '../auth';
import { OffsetMismatch, TooManyBytes, type ModelStorage } from '../model-storage';
import { versionKey } from '../publish-checks';
import { actorName, ApiError, iso, type Query, type Row, type StoreContext } from './context';

/** An upload not finished within this long is discarded (its bytes too) when the next one is announced. */
export const UPLOAD_EXPIRY_MS = 7 * 24 * 3600 * 1000;
/** Largest artifact accepted: 2 GiB. */
export const MAX_MODEL_BYTES = 2 * 1024 ** 3;
export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface ModelUploadView {
  uploadId: string;
  name: string;
  version: string;
  sha256: string;
  bytes: number;
  /** Bytes received so far: the next PUT starts here. */
  offset: number;
}

export interface ModelSummary {
  name: string;
  versions: string[];
  latest: string | null;
  format: string;
  updatedAt: string;
}

/** A model version without its signature, as lists show it. */
export type ModelVersionSummary = Omit<ModelVersionDocument, 'signature'>;

/** A model a deployment runs: name and exact version. */
export interface ModelRef {
  name: string;
  version: string;
}

/** Parses `Content-Range: bytes a-b/total`. */
export function parseContentRange(header: string | undefined): { start: number; end: number; total: number } | undefined {
  const m = /^bytes (\d{1,15})-(\d{1,15})\/(\d{1,15})$/.exec((header ?? '').trim());
  if (!m) return undefined;
  const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return end >= start && end < total ? { start, end, total } : undefined;
}

export class ModelStore {
  private readonly signingKey: crypto.KeyObject;

  constructor(private readonly ctx: StoreContext, readonly storage: ModelStorage, privateKeyPem: string) {
    this.signingKey = crypto.createPrivateKey(privateKeyPem);
  }

  checkName(name: string): void {
    if (!MODEL_NAME.test(name)) throw new ApiError(422, 'model name refused', [{ field: 'name', reason: 'must be lower-case letters, digits, ".", "_" or "-" (up to 63), starting with a letter or digit' }]);
  }

  private async versionTaken(q: Query, name: string, version: string): Promise<boolean> {
    const r = await q(`select 1 from ${this.ctx.s}.model_versions where name = $1 and version_key = $2`, [name, versionKey(version)]);
    return !!r.rowCount;
  }

  private conflict(name: string, version: string): ApiError {
    return new ApiError(409, `model ${name}@${version} refused`, [{ field: 'version', reason: `${version} is already published; published model versions never change` }]);
  }

  /**
   * Announces an upload. The same announcement again (name, version, sha256, size) is the same upload:
   * the answer says how far it got, so an interrupted publisher resumes there.
   */
  async createUpload(name: string, body: RepoModelUploadCreate, actor: Principal): Promise<ModelUploadView> {
    this.checkName(name);
    if (body.bytes > MAX_MODEL_BYTES) throw new ApiError(422, 'upload refused', [{ field: 'bytes', reason: `must be at most ${MAX_MODEL_BYTES} (2 GiB)` }]);
    await this.expireUploads();
    const id = await this.ctx.db.tx(async (q) => {
      if (await this.versionTaken(q, name, body.version)) throw this.conflict(name, body.version);
      const same = await q(`select id from ${this.ctx.s}.model_uploads where name = $1 and version = $2 and sha256 = $3 and bytes = $4 order by created_at limit 1`, [name, body.version, body.sha256, body.bytes]);
      if (same.rows[0]) return same.rows[0].id as string;
      const uploadId = `up-${crypto.randomBytes(12).toString('hex')}`;
      await q(
        `insert into ${this.ctx.s}.model_uploads (id, name, version, format, sha256, bytes, metadata, changelog, publisher, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [uploadId, name, body.version, body.format, body.sha256, body.bytes, JSON.stringify(body.metadata ?? {}), body.changelog ?? null, actorName(actor), this.ctx.nowDate()],
      );
      await this.ctx.audit(q, actor, 'model.upload.start', `${name}@${body.version}`, { uploadId, sha256: body.sha256, bytes: body.bytes, format: body.format });
      return uploadId;
    });
    return (await this.getUpload(id))!;
  }

  /** Abandoned uploads do not fill the disk: those older than UPLOAD_EXPIRY_MS go, rows and bytes. */
  private async expireUploads(): Promise<void> {
    const old = await this.ctx.db.query(`delete from ${this.ctx.s}.model_uploads where created_at < $1 returning id`, [new Date(this.ctx.now() - UPLOAD_EXPIRY_MS)]);
    for (const r of old.rows) await this.storage.discard(r.id as string);
  }

  async getUpload(uploadId: string): Promise<ModelUploadView | undefined> {
    const r = (await this.ctx.db.query(`select * from ${this.ctx.s}.model_uploads where id = $1`, [uploadId])).rows[0];
    if (!r) return undefined;
    return { uploadId: r.id, name: r.name, version: r.version, sha256: r.sha256, bytes: Number(r.bytes), offset: await this.storage.uploadOffset(r.id) };
  }

  /**
   * Appends a chunk. The chunk must start where the upload is (else 409 with the offset); when the last
   * byte arrives the whole artifact is hashed, and only a match with the announced sha256 publishes it.
   */
  async appendUpload(uploadId: string, contentRange: string | undefined, body: Readable, actor: Principal): Promise<{ upload: ModelUploadView; version?: ModelVersionDocument }> {
    const up = await this.getUpload(uploadId);
    if (!up) throw new ApiError(404, `no upload ${uploadId} (finished, refused or never started)`);
    const range = parseContentRange(contentRange);
    if (!range) throw new ApiError(422, 'chunk refused', [{ field: 'Content-Range', reason: 'must be "bytes <first>-<last>/<total>" with first <= last < total' }]);
    if (range.total !== up.bytes) throw new ApiError(422, 'chunk refused', [{ field: 'Content-Range', reason: `total must be ${up.bytes}, the size announced for this upload` }]);
    if (range.start !== up.offset) throw new ApiError(409, `the upload is at byte ${up.offset}; send the chunk that starts there`, undefined, { offset: up.offset });
    let offset: number;
    try {
      offset = await this.storage.append(uploadId, range.start, body, range.end - range.start + 1);
    } catch (err) {
      if (err instanceof OffsetMismatch) throw new ApiError(409, err.message, undefined, { offset: err.offset });
      if (err instanceof TooManyBytes) throw new ApiError(413, `chunk refused: ${err.message}`);
      // The client went away mid-chunk: what arrived is kept; not the repository's error.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || (err as Error).message === 'aborted') {
        throw new ApiError(400, `the chunk was cut at byte ${await this.storage.uploadOffset(uploadId)}; HEAD tells the offset to resume from`);
      }
      throw err;
    }
    const upload = { ...up, offset };
    if (offset < up.bytes) return { upload };
    return { upload, version: await this.complete(upload, actor) };
  }

  private async complete(up: ModelUploadView, actor: Principal): Promise<ModelVersionDocument> {
    const subject = `${up.name}@${up.version}`;
    const actual = await this.storage.uploadSha256(up.uploadId);
    if (actual !== up.sha256) {
      await this.dropUpload(up.uploadId, actor, 'model.upload.refused', subject, { reason: 'sha256 mismatch', announced: up.sha256, received: actual });
      throw new ApiError(422, `upload of ${subject} refused`, [{ field: 'sha256', reason: `the bytes received hash to ${actual}, not the ${up.sha256} announced; the upload is discarded, start again` }]);
    }
    const row = (await this.ctx.db.query(`select * from ${this.ctx.s}.model_uploads where id = $1`, [up.uploadId])).rows[0];
    const metadata = (row.metadata ?? {}) as ModelMetadata;
    const signature = signModelVersion({ name: up.name, version: up.version, format: row.format, sha256: actual, bytes: up.bytes, metadata }, this.signingKey);
    const published = await this.ctx.db.tx(async (q) => {
      // The unique (name, version_key) index settles concurrent publishers of one version, on every replica.
      const r = await q(
        `insert into ${this.ctx.s}.model_versions (name, version, version_key, format, sha256, bytes, metadata, signature, changelog, publisher, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict do nothing`,
        [up.name, up.version, versionKey(up.version), row.format, actual, up.bytes, JSON.stringify(metadata), signature, row.changelog, row.publisher, this.ctx.nowDate()],
      );
      if (!r.rowCount) return false;
      await this.storage.commit(up.uploadId, actual);
      await q(`delete from ${this.ctx.s}.model_uploads where id = $1`, [up.uploadId]);
      await this.ctx.audit(q, actor, 'model.publish', subject, { sha256: actual, bytes: up.bytes, format: row.format, uploadId: up.uploadId });
      return true;
    });
    if (!published) {
      await this.dropUpload(up.uploadId, actor, 'model.upload.refused', subject, { reason: 'version already published' });
      throw this.conflict(up.name, up.version);
    }
    return (await this.getVersion(up.name, up.version))!;
  }

  private async dropUpload(uploadId: string, actor: Principal, action: string, subject: string, detail: Record<string, unknown>): Promise<void> {
    await this.storage.discard(uploadId);
    await this.ctx.db.tx(async (q) => {
      await q(`delete from ${this.ctx.s}.model_uploads where id = $1`, [uploadId]);
      await this.ctx.audit(q, actor, action, subject, { uploadId, ...detail });
    });
  }

  private versionDoc(r: Row): ModelVersionDocument {
    return {
      name: r.name,
      version: r.version,
      format: r.format,
      sha256: r.sha256,
      bytes: Number(r.bytes),
      metadata: r.metadata ?? {},
      signature: r.signature,
      ...(r.changelog ? { changelog: r.changelog } : {}),
      publisher: r.publisher,
      createdAt: iso(r.created_at)!,
    };
  }

  async listModels(): Promise<ModelSummary[]> {
    const r = await this.ctx.db.query(`select name, version, format, created_at from ${this.ctx.s}.model_versions order by name, created_at, version`);
    const out = new Map<string, ModelSummary>();
    for (const v of r.rows) {
      const m: ModelSummary = out.get(v.name) ?? { name: v.name, versions: [], latest: null, format: v.format, updatedAt: iso(v.created_at)! };
      m.versions.push(v.version);
      m.updatedAt = iso(v.created_at)!;
      m.format = v.format;
      out.set(v.name, m);
    }
    for (const m of out.values()) m.latest = semver.rsort([...m.versions])[0] ?? null;
    return [...out.values()];
  }

  async listVersions(name: string): Promise<ModelVersionSummary[]> {
    const r = await this.ctx.db.query(`select * from ${this.ctx.s}.model_versions where name = $1 order by created_at, version`, [name]);
    return r.rows.map((x) => {
      const { signature: _signature, ...rest } = this.versionDoc(x);
      return rest;
    });
  }

  async getVersion(name: string, version: string): Promise<ModelVersionDocument | undefined> {
    const r = (await this.ctx.db.query(`select * from ${this.ctx.s}.model_versions where name = $1 and version = $2`, [name, version])).rows[0];
    return r && this.versionDoc(r);
  }

  /**
   * A device may download only a model version a deployment assigned to it: in its desired state now, or
   * released to it by a deployment (what it ran before one, for a rollback).
   */
  async deviceMayRead(deviceId: string, name: string, version: string): Promise<boolean> {
    const ref = JSON.stringify([{ name, version }]);
    const r = await this.ctx.db.query(
      `select 1 from ${this.ctx.s}.devices where id = $1 and desired_models @> $2::jsonb
       union all
       select 1 from ${this.ctx.s}.deployment_devices dd join ${this.ctx.s}.deployments d on d.id = dd.deployment_id
        where dd.device_id = $1 and dd.released_at is not null and (d.models @> $2::jsonb or dd.previous_models @> $2::jsonb)
       limit 1`,
      [deviceId, ref],
    );
    return !!r.rowCount;
  }

  /**
   * The models a deployment runs: each of the version's requirements resolved to the newest published
   * version in its range, then the pins (which must name published versions). 422 naming the field otherwise.
   */
  async resolve(requirements: RepoModelRequirement[], pins: RepoModelPins = {}): Promise<ModelRef[]> {
    const problems: FieldProblem[] = [];
    const chosen = new Map<string, string>();
    const published = async (name: string) => (await this.ctx.db.query(`select version from ${this.ctx.s}.model_versions where name = $1`, [name])).rows.map((r) => r.version as string);
    for (const [i, req] of requirements.entries()) {
      if (pins[req.name]) continue;
      const best = semver.maxSatisfying(await published(req.name), req.range);
      if (best) chosen.set(req.name, best);
      else problems.push({ field: `version.models[${i}]`, reason: `no published version of model ${req.name} satisfies ${req.range}` });
    }
    for (const [name, version] of Object.entries(pins)) {
      if (!(await published(name)).includes(version)) problems.push({ field: `models.${name}`, reason: `model ${name} has no published version "${version}"` });
      else chosen.set(name, version);
    }
    if (problems.length) throw new ApiError(422, 'deployment refused', problems);
    return [...chosen].sort(([a], [b]) => a.localeCompare(b)).map(([name, version]) => ({ name, version }));
  }

  /** The models of a desired state, from the refs a device was assigned. */
  async desiredModels(refs: ModelRef[] | null | undefined): Promise<DesiredModel[]> {
    if (!refs?.length) return [];
    const r = await this.ctx.db.query(
      `select m.name, m.version, m.sha256, m.bytes, m.signature from ${this.ctx.s}.model_versions m
         join jsonb_to_recordset($1::jsonb) as x(name text, version text) on x.name = m.name and x.version = m.version order by m.name`,
      [JSON.stringify(refs)],
    );
    return r.rows.map((m) => ({
      name: m.name,
      version: m.version,
      sha256: m.sha256,
      bytes: Number(m.bytes),
      signature: m.signature,
      href: `${API_ROOT}/models/${encodeURIComponent(m.name)}/versions/${encodeURIComponent(m.version)}`,
    }));
  }
}

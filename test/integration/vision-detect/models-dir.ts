// A models folder laid out the way the edge agent keeps it (<dir>/<name>/<version>/model.onnx and a
// current.json replaced atomically), filled from the project's own defect-detector versions.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../runtime/paths';

export const SHIPPED = path.join(PACKAGE_ROOT, 'models', 'defect-detector');
export const NAME = 'defect-detector';

export const shippedMetadata = (version: string): Record<string, any> => JSON.parse(fs.readFileSync(path.join(SHIPPED, version, 'model.json'), 'utf8'));

export class ModelsDir {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-vd-models-'));
  private readonly home = path.join(this.dir, NAME);

  /** Puts `bytes` in place as version `version` (not yet current). */
  add(version: string, bytes: Buffer): string {
    const file = path.join(this.home, version, 'model.onnx');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes);
    return file;
  }

  /** Points current.json at `version` with `metadata` (temp file + rename, as the agent does). */
  point(version: string, metadata: Record<string, unknown>, o: { sha256?: string } = {}): void {
    const bytes = fs.readFileSync(path.join(this.home, version, 'model.onnx'));
    const current = { name: NAME, version, file: `${version}/model.onnx`, sha256: o.sha256 ?? crypto.createHash('sha256').update(bytes).digest('hex'), metadata };
    const tmp = path.join(this.home, `.current-${process.pid}-${Date.now()}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(current));
    fs.renameSync(tmp, path.join(this.home, 'current.json'));
  }

  /** A shipped version, installed and made current. */
  install(version: string): void {
    this.add(version, fs.readFileSync(path.join(SHIPPED, version, 'model.onnx')));
    this.point(version, shippedMetadata(version));
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// The external image store: inspection images as files under one folder, laid out by site, line and day,
// written atomically (temp file + rename) so a reader never sees half an image. The table keeps the path.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Inspection } from '../../contracts/messages';

const EXT: Record<string, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif', raw: 'bin' };

/** A file-name-safe form; when characters had to be replaced a short hash keeps names distinct. */
export function safeName(s: string): string {
  const safe = s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe === s ? s : `${safe.slice(0, 100)}-${crypto.createHash('sha1').update(s).digest('hex').slice(0, 8)}`;
}

/** Relative path of an inspection's image: site/line/YYYY-MM-DD/<inspectionId>[-kind].<ext> */
export function imagePathFor(p: Inspection, kind = 'full'): string {
  const day = new Date(p.capturedAt).toISOString().slice(0, 10);
  const ext = EXT[p.image?.format ?? 'raw'] ?? 'bin';
  return path.posix.join(safeName(p.site), safeName(p.line), day, `${safeName(p.inspectionId)}${kind === 'full' ? '' : `-${safeName(kind)}`}.${ext}`);
}

export async function storeImage(dir: string, rel: string, data: Buffer): Promise<void> {
  const file = path.join(dir, rel);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

// Serves a model artifact with HTTP Range (a device resumes an interrupted download), an ETag that is the
// artifact's sha256 (If-None-Match, If-Range) and no buffering: the bytes stream from storage.
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { ModelStorage } from './model-storage';
import { ApiError } from './store/repo-store';

/** The one range of a `Range: bytes=...` header within `size`, 'unsatisfiable', or undefined for the whole file. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges, or another unit: answer the whole artifact (RFC 9110 allows ignoring Range).
  if (!m || (!m[1] && !m[2])) return undefined;
  if (!m[1]) {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

export async function serveArtifact(req: Request, res: Response, storage: ModelStorage, sha256: string): Promise<void> {
  const size = await storage.size(sha256);
  if (size === undefined) throw new ApiError(404, `the artifact ${sha256} is missing from the repository's storage`);
  const etag = `"${sha256}"`;
  res.set('ETag', etag).set('Accept-Ranges', 'bytes').set('Cache-Control', 'private, max-age=31536000, immutable').type('application/octet-stream');
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').map((s) => s.trim().replace(/^W\//, '')).includes(etag)) {
    res.status(304).end();
    return;
  }
  const ifRange = req.get('if-range');
  const range = ifRange && ifRange.trim() !== etag ? undefined : parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    res.status(416).set('Content-Range', `bytes */${size}`).json({ error: `Range ${req.headers.range} is outside the artifact's ${size} bytes` });
    return;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  if (range) res.status(206).set('Content-Range', `bytes ${start}-${end}/${size}`);
  res.set('Content-Length', String(end - start + 1));
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  // A client that goes away ends the stream; that is not the repository's error.
  await pipeline(storage.read(sha256, start, end), res).catch(() => res.destroy());
}

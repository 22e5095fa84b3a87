// The quality history inside the repository: the history API (runtime/history) mounted at
// /api/v1/history for people with the viewer role, over its own read-only connection to the sink's
// database, and its operations added to the repository's OpenAPI document.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_ROOT } from '../../contracts/fleet/protocol';
import { historyOpenApi } from '../history/openapi';
import { historyHandler, openHistory, type HistoryConnection } from '../history/server';

export const HISTORY_MOUNT = `${API_ROOT}/history`;

export interface RepoHistoryOptions {
  /** postgres:// URL of the history (the cloud sink's database), as a read-only role. */
  db: string;
  /** The sink's schema. */
  schema?: string;
  /** SET LOCAL ROLE for every query (when the URL's user is not the read-only role itself). */
  role?: string;
  /** The sink's image store, for images stored as files. */
  imageDir?: string;
  /** Shift start hours (UTC) for "worst lines this shift" (default 6, 14, 22). */
  shifts?: number[];
  /** Serve even when the role could write (the embedded demo's only user); refused otherwise. */
  allowWritableRole?: boolean;
}

export interface MountedHistory {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

/** Opens the history database (refusing a role that can write unless allowed) and its request handler. */
export async function mountHistory(options: RepoHistoryOptions, now?: () => number): Promise<MountedHistory> {
  const connection: HistoryConnection = await openHistory(options, '--allow-writable-history-role');
  return {
    handler: historyHandler({ queries: connection.queries, imageDir: options.imageDir, shifts: options.shifts, now }),
    close: () => connection.pool.end(),
  };
}

type Obj = Record<string, unknown>;

/**
 * The history document's operations under the repository's paths, for viewers (session or token), with
 * its component schemas. `authErrors` are the repository's 401/403 answers.
 */
export function historyPaths(security: unknown[], authErrors: Obj): { paths: Obj; schemas: Obj } {
  const doc = historyOpenApi() as { paths: Record<string, Record<string, Obj>>; components: { schemas: Obj } };
  const paths: Obj = {};
  for (const [path, ops] of Object.entries(doc.paths)) {
    const open = path === '/openapi.json';
    paths[`${HISTORY_MOUNT}${path}`] = Object.fromEntries(
      Object.entries(ops).map(([method, op]) => [
        method,
        open
          ? { ...op, summary: 'the history API\'s own OpenAPI document (its paths relative to /api/v1/history)', security: [] }
          : { ...op, tags: ['quality history'], security, 'x-linesight-role': 'viewer', responses: { ...(op.responses as Obj), ...authErrors } },
      ]),
    );
  }
  return { paths, schemas: doc.components.schemas };
}

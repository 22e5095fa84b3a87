// The read side of remote logs and health over HTTP: query parameters checked (422 naming the field), and
// the live tail as Server-Sent Events. The tail wakes on lines committed by this replica and, so lines
// posted to another replica arrive too, looks again every couple of seconds.
import type { Request, Response } from 'express';
import type { LogLevel as RepoLogLevel } from '../../contracts/fleet/protocol';
import { ApiError } from './store/context';
import { LOG_LEVELS, type LogQuery, type TelemetryStore } from './store/telemetry';

/** Comment line sent on an idle stream so proxies and browsers keep it open. */
export const HEARTBEAT_MS = 15_000;
/** How often an idle stream looks for lines another replica stored. */
const RECHECK_MS = 2_000;
const STREAM_BATCH = 1000;

type Query = Request['query'];

function integer(query: Query, name: string, min: number, max: number): number | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  const v = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new ApiError(422, 'query refused', [{ field: name, reason: `must be an integer from ${min} to ${max}` }]);
  return v;
}

function text(query: Query, name: string): string | undefined {
  const raw = query[name];
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string') throw new ApiError(422, 'query refused', [{ field: name, reason: 'must be given once, as text' }]);
  return raw;
}

/** GET logs (`paging`: since, before, limit too) and the stream: level, node, q. */
export function logQuery(query: Query, paging: boolean): LogQuery {
  const level = text(query, 'level');
  if (level !== undefined && !(level in LOG_LEVELS)) throw new ApiError(422, 'query refused', [{ field: 'level', reason: `must be one of ${Object.keys(LOG_LEVELS).join(', ')}` }]);
  return {
    level: level as RepoLogLevel | undefined,
    node: text(query, 'node'),
    q: text(query, 'q'),
    since: integer(query, 'since', 0, Number.MAX_SAFE_INTEGER),
    ...(paging ? { before: integer(query, 'before', 0, Number.MAX_SAFE_INTEGER), limit: integer(query, 'limit', 1, 1000) } : {}),
  };
}

/** GET health: since and until in ms since the epoch, step in seconds. */
export function healthQuery(query: Query): { since?: number; until?: number; stepSeconds?: number } {
  return { since: integer(query, 'since', 0, Number.MAX_SAFE_INTEGER), until: integer(query, 'until', 0, Number.MAX_SAFE_INTEGER), stepSeconds: integer(query, 'step', 1, 86_400) };
}

/**
 * Streams a device's log lines as `event: line` with `id: <seq>`, starting after Last-Event-ID (or
 * `since`), else with the lines stored from now on. Ends when the client goes away.
 */
export async function streamLogs(store: TelemetryStore, deviceId: string, query: LogQuery, req: Request, res: Response, log: (line: string) => void): Promise<void> {
  const lastEventId = req.headers['last-event-id'];
  let cursor: number;
  if (typeof lastEventId === 'string' && /^\d{1,15}$/.test(lastEventId.trim())) cursor = Number(lastEventId.trim());
  else if (query.since !== undefined) cursor = query.since;
  else cursor = (await store.readLogs(deviceId, { limit: 1 })).lines.at(-1)?.seq ?? 0;

  res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  res.write(`: log lines of ${deviceId} after ${cursor}\n\n`);

  let closed = false;
  let dirty = false;
  let wake: (() => void) | null = null;
  const onLines = (id: string) => {
    if (id !== deviceId) return;
    dirty = true;
    wake?.();
  };
  store.on('lines', onLines);
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
  req.on('close', () => {
    closed = true;
    wake?.();
  });
  try {
    while (!closed) {
      dirty = false;
      const { lines } = await store.readLogs(deviceId, { ...query, since: cursor, before: undefined, limit: STREAM_BATCH });
      if (closed) break;
      if (lines.length) res.write(lines.map((l) => `id: ${l.seq}\nevent: line\ndata: ${JSON.stringify(l)}\n\n`).join(''));
      if (lines.length) cursor = lines.at(-1)!.seq;
      if (lines.length === STREAM_BATCH || dirty) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, RECHECK_MS);
        function done() {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
        wake = done;
      });
    }
  } catch (err) {
    // The headers are sent: the client sees the stream end and reconnects with Last-Event-ID.
    log(`log stream of ${deviceId} ended: ${(err as Error).message}`);
  } finally {
    clearInterval(heartbeat);
    store.off('lines', onLines);
    res.end();
  }
}

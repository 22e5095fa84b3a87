// The error every Linesight core raises: it knows which field caused it and what a node's status should
// say. Cores throw it without knowing about Node-RED; the node kit turns it into a status and done(err).

/** An error that knows which field caused it and what the node status should say. */
export class LinesightError extends Error {
  readonly field?: string;
  readonly statusText?: string;
  readonly code?: string;
  constructor(message: string, opts: { field?: string; statusText?: string; code?: string; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'LinesightError';
    this.field = opts.field;
    this.statusText = opts.statusText;
    this.code = opts.code;
  }
}

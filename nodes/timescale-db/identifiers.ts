// SQL identifiers from configuration (schema, table, column names): checked against a strict pattern and
// always double-quoted, so a name can never become SQL text. Values never pass through here.
import { LinesightError } from '../../contracts/errors';

/** Letters, digits, underscore; starts with a letter or underscore; at most 63 bytes (PostgreSQL's limit). */
export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Throws a LinesightError naming `field` when `name` is not a plain identifier. */
export function assertIdentifier(name: unknown, field: string): string {
  if (typeof name !== 'string' || !IDENTIFIER_PATTERN.test(name)) {
    throw new LinesightError(
      `${field} ${JSON.stringify(name)} is not a valid identifier: use letters, digits and _ (not starting with a digit, at most 63)`,
      { field, code: 'BAD_IDENTIFIER' },
    );
  }
  return name;
}

/** "name" — the pattern above already excludes quotes; doubling them keeps this safe on its own. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** "schema"."table" */
export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** A string literal for the few DDL places PostgreSQL accepts no parameters (policy intervals, regclass). */
export function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

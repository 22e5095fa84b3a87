// timescale-db's public face: what other nodes (timescale-sink) and programs may use of it.
export type { Database, ServerInfo } from './connection';
export { assertIdentifier, qualified, quoteIdent, quoteLiteral, IDENTIFIER_PATTERN } from './identifiers';

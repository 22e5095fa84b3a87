// timescale-sink's public face: the history schema and its migration, for `linesight db migrate`.
export { migrate, type SchemaOptions, type MigrationReport } from './db-schema';
export { CONTRACT_TABLES } from './row-mapper';

// Loads the shipped linesight.v1 proto once, with the decoding options the intake relies on:
// proto field names as written, int64 as Number, bytes as Buffer views (no copy), empty repeated/map as [] / {}.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';

/** dist/proto/linesight/v1/inspection.proto (the build copies proto/ there). */
export const INSPECTION_PROTO = path.resolve(__dirname, '..', '..', 'proto', 'linesight', 'v1', 'inspection.proto');

export const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: false, arrays: true, objects: true, oneofs: true };

let cached: grpc.ServiceClientConstructor | undefined;

/** The InspectionIntake service constructor (its `.service` is the definition servers register). */
export function intakeService(): grpc.ServiceClientConstructor {
  if (!cached) {
    const def = protoLoader.loadSync(INSPECTION_PROTO, LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as { linesight: { v1: { InspectionIntake: grpc.ServiceClientConstructor } } };
    cached = pkg.linesight.v1.InspectionIntake;
  }
  return cached;
}

export interface SubmitReply {
  inspection_id: string;
  accepted: boolean;
  reason?: string;
  code?: string;
}

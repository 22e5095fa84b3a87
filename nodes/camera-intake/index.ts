// camera-intake's public face: the gRPC service and message shapes a camera (or the camera simulator) uses.
export { intakeService, INSPECTION_PROTO, type SubmitReply } from './intake-proto';
export type { ProtoInspection, ProtoDetection, ProtoImage } from './inspection-mapper';

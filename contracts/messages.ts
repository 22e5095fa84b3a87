// Typed message contracts with validators compiled from the generated schemas.
import type { Inspection, LineAction, TagSample } from './messages.schema';
import { validatorFor, ValidationError, toProblems, type FieldProblem } from './schemas';

export type * from './messages.schema';

function checker<T>(schema: string) {
  let v: ReturnType<typeof validatorFor> | undefined;
  return {
    /** Problems with `value`, empty when it conforms. */
    problems(value: unknown, prefix = 'payload'): FieldProblem[] {
      v ??= validatorFor(schema);
      return v(value) ? [] : toProblems(v.errors, prefix);
    },
    is(value: unknown): value is T {
      v ??= validatorFor(schema);
      return v(value) as boolean;
    },
    /** Returns the value typed, or throws a ValidationError naming each bad field. */
    assert(value: unknown, prefix = 'payload'): T {
      v ??= validatorFor(schema);
      if (!v(value)) throw new ValidationError(`invalid ${schema}`, toProblems(v.errors, prefix));
      return value as T;
    },
  };
}

export const inspectionContract = checker<Inspection>('Inspection');
export const tagSampleContract = checker<TagSample>('TagSample');
export const lineActionContract = checker<LineAction>('LineAction');

export type ContractKind = 'inspection' | 'tags' | 'actions';

/** Recognises which contract a payload carries, or undefined. */
export function contractOf(payload: unknown): ContractKind | undefined {
  if (Array.isArray(payload)) return payload.length > 0 && payload.every((p) => tagSampleContract.is(p)) ? 'tags' : undefined;
  if (inspectionContract.is(payload)) return 'inspection';
  if (lineActionContract.is(payload)) return 'actions';
  if (tagSampleContract.is(payload)) return 'tags';
  return undefined;
}

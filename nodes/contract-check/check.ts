// The pure check behind contract-check: which contract a payload carries and what is wrong with it.
import { contractOf, inspectionContract, lineActionContract, tagSampleContract } from '../../contracts/messages';
import type { FieldProblem } from '../../contracts/schemas';
import type { ContractCheckConfig } from './contract-check.schema';

export function checkPayload(contract: ContractCheckConfig['contract'], payload: unknown): { kind?: string; problems: FieldProblem[] } {
  switch (contract) {
    case 'inspection':
      return { kind: 'inspection', problems: inspectionContract.problems(payload) };
    case 'actions':
      return { kind: 'actions', problems: lineActionContract.problems(payload) };
    case 'tags': {
      const items = Array.isArray(payload) ? payload : [payload];
      return { kind: 'tags', problems: items.flatMap((p, i) => tagSampleContract.problems(p, Array.isArray(payload) ? `payload[${i}]` : 'payload')) };
    }
    default: {
      const kind = contractOf(payload);
      return kind ? { kind, problems: [] } : { problems: [{ field: 'payload', reason: 'is not an Inspection, TagSample[] or LineAction' }] };
    }
  }
}


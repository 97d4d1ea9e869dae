// Why the RIB refused a route: shared by the policy (filters, limits) and the validation
// (shape, tables, legs), each of which produces them.
export type RefusalCode = 'INPUT_INVALID' | 'LIMIT_EXCEEDED' | 'ROUTE_FILTERED';

export interface Refusal {
  readonly code: RefusalCode;
  /** names the field and value, as every input error does */
  readonly message: string;
}

import type { DdlContext } from '../ddl.js';

/**
 * A versioned schema change. Statements must be idempotent (IF NOT EXISTS) so a migration
 * interrupted half-way can simply run again.
 */
export interface Migration {
  version: number;
  name: string;
  statements(ctx: DdlContext): string[];
}

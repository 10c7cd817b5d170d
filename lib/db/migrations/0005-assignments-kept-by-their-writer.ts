import type { PgMigration } from './migration.js';

/**
 * Assignments lose their two foreign keys; what they guaranteed is kept another way.
 *
 * Why: a foreign key is checked per inserted row by a trigger that runs its own query
 * (`SELECT ... FOR KEY SHARE` on the referenced row). A new device inserts one assignment per
 * running experiment, so two such checks each. A profile of PostgreSQL's backend put a large
 * share of the device-load statement's time in them (architecture/adr/0006, decision 4).
 *
 * What keeps assignments consistent now:
 * - One writer: the device-load statement (api/src/experiments/device-load-sql.ts). It writes
 *   assignments only for a device row the same statement inserted or locked, so that device
 *   exists when it commits. It writes them only for experiment ids it finds in `experiments`.
 * - Nothing in the product deletes a device or an experiment. An operator's `DELETE` still
 *   cascades: the triggers below remove the rows that referred to the deleted ones.
 *   Unlike a foreign key, they do not lock the referenced rows; a registration racing such a
 *   DELETE can still commit rows for the deleted experiment. The API serves only the
 *   experiments in its running list, so such a row is never served.
 *
 * `device_read_or_register` (migration 4) is no longer called by this release. It stays for
 * the replicas of the previous release that run until a rolling deploy replaces them; a
 * later migration drops it.
 */
export const assignmentsKeptByTheirWriterMigration: PgMigration = {
  version: 5,
  name: 'assignments without per-row foreign keys',
  sql: `
    ALTER TABLE assignments
      DROP CONSTRAINT assignments_device_token_fkey,
      DROP CONSTRAINT assignments_experiment_id_fkey;

    CREATE FUNCTION assignments_of_deleted_devices() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    BEGIN
      DELETE FROM assignments a USING deleted d WHERE a.device_token = d.token;
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER devices_delete_assignments AFTER DELETE ON devices
      REFERENCING OLD TABLE AS deleted
      FOR EACH STATEMENT EXECUTE FUNCTION assignments_of_deleted_devices();

    CREATE FUNCTION assignments_of_deleted_experiments() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    BEGIN
      DELETE FROM assignments a USING deleted e WHERE a.experiment_id = e.id;
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER experiments_delete_assignments AFTER DELETE ON experiments
      REFERENCING OLD TABLE AS deleted
      FOR EACH STATEMENT EXECUTE FUNCTION assignments_of_deleted_experiments();
  `,
};

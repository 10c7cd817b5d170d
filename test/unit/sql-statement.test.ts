import { expect } from 'chai';
import { httpStatusFor, fromEngineError } from '../../lib/sql-http/errors.js';
import {
  asksForTotals,
  assertReadingStatement,
  formatClause,
  substituteCurrentUser,
} from '../../lib/sql-http/statement.js';
import { renderTable } from '../../lib/sql-http/table.js';

// Inputs are what the engine's formatQuerySingleLine prints: one statement, no comments.
describe('sql-http statement checks', () => {
  it('lets reading statements through', () => {
    for (const q of [
      'SELECT 1',
      'WITH 1 AS x SELECT x',
      '(SELECT 1) UNION ALL (SELECT 2)',
      'SHOW TABLES',
      'DESCRIBE TABLE t',
      'EXISTS TABLE t',
      'EXPLAIN SELECT 1',
      "SELECT 'INTO OUTFILE x'",
      'SELECT `into outfile` FROM t',
      "SELECT 'file(x)', profile(1), my_file(2), `file` FROM t",
    ]) {
      expect(() => assertReadingStatement(q), q).not.to.throw();
    }
  });

  it('refuses every other statement kind, INTO OUTFILE and file() with READONLY (164)', () => {
    for (const q of [
      'KILL QUERY WHERE 1',
      'INSERT INTO t VALUES (1)',
      'DROP TABLE t',
      'SYSTEM STOP MERGES',
      'OPTIMIZE TABLE t',
      'SET readonly = 0',
      "SELECT 1 INTO OUTFILE 'x'",
      "SELECT 'a' INTO   OUTFILE 'x' FORMAT CSV",
      "SELECT file('/etc/passwd')",
      "SELECT length(FILE ('/etc/passwd'))",
      "SELECT arrayMap(x -> file(x), ['/etc/passwd'])",
      'USE other',
    ]) {
      expect(() => assertReadingStatement(q), q)
        .to.throw()
        .with.property('code', 164);
    }
  });

  it('reads the FORMAT clause, never one inside a literal', () => {
    expect(formatClause('SELECT 1 FORMAT JSONEachRow')).to.equal('JSONEachRow');
    expect(formatClause("SELECT 'x FORMAT CSV'")).to.equal(undefined);
    expect(formatClause('SELECT 1')).to.equal(undefined);
    // The engine's re-print backquotes a format named like a keyword.
    expect(formatClause('SELECT 1 AS n FORMAT `Values`')).to.equal('Values');
    expect(formatClause('SELECT 1 AS `FORMAT Values`')).to.equal(undefined);
    expect(formatClause('SELECT 1 AS n, `x` FROM t')).to.equal(undefined);
    // A SETTINGS clause after it, as the engine re-prints one (a setting at its value passes).
    expect(formatClause('SELECT 1 AS n FORMAT JSON SETTINGS max_threads = 1')).to.equal('JSON');
    expect(formatClause("SELECT 1 FORMAT `Values` SETTINGS log_comment = 'a FORMAT CSV'")).to.equal('Values');
    expect(formatClause("SELECT 1 SETTINGS log_comment = 'FORMAT CSV'")).to.equal(undefined);
    expect(formatClause('SELECT 1 AS `FORMAT CSV`')).to.equal(undefined);
  });

  it('finds WITH TOTALS outside literals and quoted names', () => {
    expect(asksForTotals('SELECT k, count() FROM t GROUP BY k WITH TOTALS')).to.equal(true);
    expect(asksForTotals("SELECT 'WITH TOTALS', `with totals` FROM t")).to.equal(false);
  });

  it("substitutes the analyst's name for currentUser() and its aliases outside literals", () => {
    expect(substituteCurrentUser('SELECT currentUser(), user() AS u', "o'brien")).to.equal(
      "SELECT ('o\\'brien' AS `currentUser()`), ('o\\'brien' AS `user()`) AS u",
    );
    expect(substituteCurrentUser("SELECT 'currentUser()', user FROM t", 'a')).to.equal(
      "SELECT 'currentUser()', user FROM t",
    );
  });

  it("maps codes to clickhouse-server's HTTP statuses", () => {
    expect(httpStatusFor(62)).to.equal(400);
    expect(httpStatusFor(47)).to.equal(404);
    expect(httpStatusFor(60)).to.equal(404);
    expect(httpStatusFor(516)).to.equal(403);
    expect(httpStatusFor(194)).to.equal(401);
    expect(httpStatusFor(159)).to.equal(408);
    expect(httpStatusFor(164)).to.equal(403);
    expect(httpStatusFor(202)).to.equal(503);
    // What the server leaves at 500: 400 when the query asked for it, 500 for faults only.
    expect(httpStatusFor(43)).to.equal(400); // ILLEGAL_TYPE_OF_ARGUMENT
    expect(httpStatusFor(701)).to.equal(400); // CLUSTER_DOESNT_EXIST
    expect(httpStatusFor(306)).to.equal(400); // TOO_DEEP_RECURSION
    expect(httpStatusFor(396)).to.equal(400); // TOO_MANY_ROWS_OR_BYTES (the result limits)
    expect(httpStatusFor(49)).to.equal(500); // LOGICAL_ERROR
    // MEMORY_LIMIT_EXCEEDED: the process's own limit is the service's fault, a query's its own.
    expect(
      httpStatusFor(241, 'Code: 241. DB::Exception: (total) memory limit exceeded: would use 9 GiB'),
    ).to.equal(500);
    expect(
      httpStatusFor(241, 'Code: 241. DB::Exception: Query memory limit exceeded: would use 1.38 GiB'),
    ).to.equal(400);
    expect(httpStatusFor(48)).to.equal(400); // NOT_IMPLEMENTED: what the embedded engine does not do
    expect(httpStatusFor(1001)).to.equal(500); // STD_EXCEPTION, also an error without a code
  });

  it('keeps the engine error text, code and name', () => {
    const e = fromEngineError(
      new Error('Code: 47. DB::Exception: Unknown identifier `x`. (UNKNOWN_IDENTIFIER)'),
    );
    expect(e).to.include({ code: 47, codeName: 'UNKNOWN_IDENTIFIER' });
    expect(e.text).to.equal('Code: 47. DB::Exception: Unknown identifier `x`. (UNKNOWN_IDENTIFIER)');
    const nested = fromEngineError(
      new Error(
        'Code: 73. DB::Exception: Code: 73. DB::Exception: Code: 73. DB::Exception: Unknown format Nope. (UNKNOWN_FORMAT)',
      ),
    );
    expect(nested.text).to.equal('Code: 73. DB::Exception: Unknown format Nope. (UNKNOWN_FORMAT)');
    expect(nested).to.include({ code: 73, codeName: 'UNKNOWN_FORMAT' });
  });

  it('aligns table columns, numbers to the right', () => {
    const out = renderTable({
      meta: [
        { name: 'film', type: 'String' },
        { name: 'n', type: 'UInt64' },
      ],
      data: [
        ['a', '1000'],
        ['bbbbbb', '7'],
      ],
      rows: 2,
    });
    expect(out.split('\n')).to.deep.equal([
      'film   │    n',
      '───────┼─────',
      'a      │ 1000',
      'bbbbbb │    7',
    ]);
  });
});

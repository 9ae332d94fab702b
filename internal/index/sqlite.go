package index

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// SQLite binds at most 32766 parameters per statement; a multi-row
// INSERT of a few hundred rows is about as fast as it gets with
// modernc.org/sqlite (each Exec call costs more than a row).
const (
	sqliteMaxParams = 32766
	sqliteMaxRows   = 256
)

// sqliteTx writes with multi-row INSERTs in a database/sql transaction,
// which began IMMEDIATE (the DSN's _txlock): it holds the write lock.
type sqliteTx struct{ tx *sql.Tx }

func (w sqliteTx) next(ctx context.Context) (uint64, error) {
	var next int64
	if err := w.tx.QueryRowContext(ctx, `SELECT next_block FROM checkpoint WHERE id = 1`).Scan(&next); err != nil {
		return 0, fmt.Errorf("index: read checkpoint: %w", err)
	}
	return uint64(next), nil
}

func (w sqliteTx) exec(ctx context.Context, query string, args ...any) error {
	_, err := w.tx.ExecContext(ctx, query, args...)
	return err
}

func (w sqliteTx) insert(ctx context.Context, t table, n int, row func(i int, dst []any)) error {
	if n == 0 {
		return nil
	}
	nc := len(t.cols)
	per := max(1, min(sqliteMaxRows, sqliteMaxParams/nc, n))
	args := make([]any, per*nc)
	var full *sql.Stmt
	defer func() {
		if full != nil {
			_ = full.Close()
		}
	}()
	for start := 0; start < n; start += per {
		k := min(per, n-start)
		a := args[:k*nc]
		for j := range k {
			row(start+j, a[j*nc:(j+1)*nc])
		}
		var err error
		if k == per {
			if full == nil {
				if full, err = w.tx.PrepareContext(ctx, insertSQL(t, per)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, a...)
		} else {
			_, err = w.tx.ExecContext(ctx, insertSQL(t, k), a...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// insertSQL is INSERT INTO t (cols) VALUES (?, …), (…), … for rows rows.
// Anonymous placeholders: binding a named one ($n) costs modernc.org/sqlite
// a lookup of its name through all the statement's names, which makes a
// statement of thousands of parameters quadratic.
func insertSQL(t table, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(t.name)
	b.WriteString(" (")
	b.WriteString(strings.Join(t.cols, ", "))
	b.WriteString(") VALUES ")
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range t.cols {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	return b.String()
}

func (s *Store) writeSQLite(ctx context.Context, fn func(writeTx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index: begin: %w", err)
	}
	if err := fn(sqliteTx{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("index: commit: %w", err)
	}
	return nil
}

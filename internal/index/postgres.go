package index

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgTx writes with COPY, through pgx's own connection under the
// database/sql one: COPY is several times faster than INSERT statements
// for the thousands of rows of a run of blocks.
type pgTx struct{ tx pgx.Tx }

func (w pgTx) next(ctx context.Context) (uint64, error) {
	var next int64
	// FOR UPDATE: a second writer waits here, then sees the moved
	// checkpoint and is refused (ErrNotNext) instead of interleaving.
	if err := w.tx.QueryRow(ctx, `SELECT next_block FROM checkpoint WHERE id = 1 FOR UPDATE`).Scan(&next); err != nil {
		return 0, fmt.Errorf("index: read checkpoint: %w", err)
	}
	return uint64(next), nil
}

func (w pgTx) exec(ctx context.Context, query string, args ...any) error {
	_, err := w.tx.Exec(ctx, query, args...)
	return err
}

func (w pgTx) insert(ctx context.Context, t table, n int, row func(i int, dst []any)) error {
	if n == 0 {
		return nil
	}
	// CopyFrom encodes each row before asking for the next one: one
	// buffer serves every row.
	buf := make([]any, len(t.cols))
	_, err := w.tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		row(i, buf)
		return buf, nil
	}))
	return err
}

func (s *Store) writePostgres(ctx context.Context, fn func(writeTx) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("index: connect: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		pc := driverConn.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return fmt.Errorf("index: begin: %w", err)
		}
		if err := fn(pgTx{tx}); err != nil {
			// Rollback with a context of its own: ctx may be the reason.
			_ = tx.Rollback(context.WithoutCancel(ctx))
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("index: commit: %w", err)
		}
		return nil
	})
}

// write runs fn in one write transaction of the store's dialect,
// committed when fn returns nil, rolled back otherwise.
func (s *Store) write(ctx context.Context, fn func(writeTx) error) error {
	if s.d == postgresDialect {
		return s.writePostgres(ctx, fn)
	}
	return s.writeSQLite(ctx, fn)
}

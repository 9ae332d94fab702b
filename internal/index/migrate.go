package index

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// ErrSchemaTooNew is matched (errors.Is) by Open's error when the index was
// written by a newer e2l whose schema this build does not know.
var ErrSchemaTooNew = errors.New("index: schema is newer than this e2l")

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema change, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string // with the dialect's type tokens
}

// migrations returns the embedded migrations in order. Their numbers are
// 1, 2, 3, … without gaps; a test holds them to it.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("index: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("index: migration file %s is not named NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("index: read migration %s: %w", e.Name(), err)
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("index: migration %s: want number %d next", e.Name(), len(ms)+1)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	return ms, nil
}

// SchemaVersion is the schema version this build writes: the number of
// its last migration.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// statements splits a migration into statements, each ending with a
// semicolon at the end of a line; comment lines are dropped.
func statements(sqlText string) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.SplitSeq(sqlText, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// migrate brings the schema up to date in one transaction: it creates
// schema_migrations when missing, refuses a schema newer than this build's
// and applies the missing migrations in order, recording each.
func migrate(ctx context.Context, db *sql.DB, d *dialect) (err error) {
	ms, err := migrations()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index: migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if d.lockMigrations != "" {
		if _, err := tx.ExecContext(ctx, d.lockMigrations); err != nil {
			return fmt.Errorf("index: migrate: lock: %w", err)
		}
	}
	create := d.types.Replace(`CREATE TABLE IF NOT EXISTS schema_migrations (
	version {{int}} PRIMARY KEY,
	name    {{text}} NOT NULL
)`)
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("index: migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("index: migrate: read version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("%w: the index has schema version %d, this build knows up to %d: use a newer e2l, or index into a new database",
			ErrSchemaTooNew, current, len(ms))
	}
	for _, m := range ms[current:] {
		for _, stmt := range statements(d.types.Replace(m.sql)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("index: migration %d (%s): %w", m.version, m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return fmt.Errorf("index: migration %d (%s): record it: %w", m.version, m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("index: migrate: commit: %w", err)
	}
	return nil
}

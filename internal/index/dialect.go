package index

import "strings"

// Names of the two dialects, as Store.Dialect returns them.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// dialect is everything that differs between SQLite and PostgreSQL, in one
// place. The migrations name column types by token ({{int}}, …) and this
// replaces them; queries use $n placeholders, which both databases take
// (SQLite reads $1 as a named parameter that modernc.org/sqlite binds by
// its number); the few expressions without a common spelling are fields.
// How rows are written in bulk (multi-row INSERT or COPY) is the other
// difference: sqlite.go and postgres.go.
type dialect struct {
	name string
	// types replaces the type tokens of the migrations:
	//   {{int}}       a 64-bit signed integer
	//   {{text}}      text compared and ordered byte by byte (so that
	//                 both databases order host names and IDs alike)
	//   {{bytes}}     a byte string
	//   {{bool}}      a boolean
	//   {{serial}}    an integer primary key the database numbers
	//   {{no_bytes}}  the empty byte string as a literal
	types *strings.Replacer
	// lockMigrations is run first in the migration transaction so that
	// two processes opening a new index do not both create it ("" when
	// the transaction itself is exclusive).
	lockMigrations string
	// jsonArray is the aggregate that turns strings into a JSON array
	// (ORDER BY inside the call orders it).
	jsonArray string
}

var sqliteDialect = &dialect{
	name: DialectSQLite,
	types: strings.NewReplacer(
		"{{int}}", "INTEGER",
		"{{text}}", "TEXT",
		"{{bytes}}", "BLOB",
		"{{bool}}", "INTEGER",
		"{{serial}}", "INTEGER PRIMARY KEY",
		"{{no_bytes}}", "X''",
	),
	// Transactions begin IMMEDIATE (the DSN's _txlock): the migration
	// transaction holds the write lock from its first statement.
	lockMigrations: "",
	jsonArray:      "json_group_array",
}

var postgresDialect = &dialect{
	name: DialectPostgres,
	types: strings.NewReplacer(
		"{{int}}", "BIGINT",
		"{{text}}", `TEXT COLLATE "C"`,
		"{{bytes}}", "BYTEA",
		"{{bool}}", "BOOLEAN",
		"{{serial}}", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
		"{{no_bytes}}", `'\x'::BYTEA`,
	),
	// Any constant key: e2l's index in ASCII.
	lockMigrations: "SELECT pg_advisory_xact_lock(6876358242856753272)",
	jsonArray:      "json_agg",
}

// indexedBy is the clause that makes SQLite read a table through the index
// named (after the table's name in FROM), where its planner, without
// statistics, would choose another; PostgreSQL's planner has statistics
// and no such clause: "" for it.
func (d *dialect) indexedBy(index string) string {
	if d == sqliteDialect {
		return "INDEXED BY " + index
	}
	return ""
}

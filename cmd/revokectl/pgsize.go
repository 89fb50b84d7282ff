package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// postgresTables are the tables a postgres store of prefix p keeps: p+name
// for each name (see the postgres package's documentation).
var postgresTables = []string{"tokens", "meta"}

// postgresSize returns a function that reads the bytes on disk of the
// tables of prefix in the current schema of dsn's connection, where the
// postgres backend keeps them: pg_total_relation_size, which counts their
// indexes and TOAST tables too.
func postgresSize(dsn, prefix string) func(ctx context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return 0, fmt.Errorf("postgres: reading the size of the tables: %w", err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		names := make([]string, len(postgresTables))
		for i, t := range postgresTables {
			names[i] = prefix + t
		}
		var size, n int64
		err = conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint, count(*)
			FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
			WHERE s.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY($1)`, names).Scan(&size, &n)
		switch {
		case err != nil:
			return 0, fmt.Errorf("postgres: reading the size of the tables: %w", err)
		case n != int64(len(names)):
			return 0, fmt.Errorf("postgres: reading the size of the tables: %d of the tables %v found", n, names)
		}
		return size, nil
	}
}

package sqlite

// SchemaVersion returns the version of the tables this package writes. Open
// and New bring older tables to it (and refuse newer ones with ErrVersion),
// so it is the version of every open Store's tables.
func SchemaVersion() int { return schemaVersion }

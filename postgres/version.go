package postgres

// SchemaVersion returns the version of the tables this package creates and
// reads (operators' tools report it beside the store).
func SchemaVersion() int { return schemaVersion }

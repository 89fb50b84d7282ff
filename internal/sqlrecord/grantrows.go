package sqlrecord

import (
	"bytes"
	"slices"

	"github.com/sdkauth/revocation/revoke"
)

// GrantRows are the IDs of the rows of the grant a write transaction read
// last, until its next Put or Delete: the members a cascade is about to
// revoke, which SetSeq then finds by the grant's key rather than one by one
// through the index on id.
type GrantRows struct {
	ids    []revoke.ID
	sorted bool
}

// Reset empties r, keeping its memory for the next grant.
func (r *GrantRows) Reset() { r.ids, r.sorted = r.ids[:0], false }

// Add adds the ID of a row read.
func (r *GrantRows) Add(id revoke.ID) { r.ids, r.sorted = append(r.ids, id), false }

// Holds reports whether id is among r's rows.
func (r *GrantRows) Holds(id revoke.ID) bool {
	if !r.sorted {
		slices.SortFunc(r.ids, compareIDs)
		r.sorted = true
	}
	_, found := slices.BinarySearchFunc(r.ids, id, compareIDs)
	return found
}

func compareIDs(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) }

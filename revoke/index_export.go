package revoke

import "time"

// Index is the in-memory set of revoked tokens that a Revoker answers
// IsRevoked from, for programs that hold revocations without a store: the
// follower of a revocation feed (package follow) keeps one. Contains takes
// no lock and does not allocate; Add, Sweep and Len may run concurrently
// with it and with each other. The zero Index is not usable: call NewIndex.
type Index struct {
	ix index
}

// NewIndex returns an empty Index.
func NewIndex() *Index { return new(Index) }

// Add puts rev in the index, by rev.ID, found by the tokens whose checksum
// (see Checksum) is rev.Check; Check 0 stands for a revocation whose
// checksum is not known, found by ID alone (Contains then hashes every
// token it is asked about while such entries are held). Adding an ID
// already held keeps the later expiry. rev.Seq is ignored.
func (x *Index) Add(rev Revocation) { x.ix.add(rev) }

// Contains reports whether the token whose key is key (the token itself,
// or what a key function such as the one of WithTokenKey makes of it) is
// revoked, as Revoker.IsRevoked does from its own index.
func (x *Index) Contains(key string) bool {
	return x.ix.contains(Checksum(key), key)
}

// Sweep removes the entries that expired before t, to the second, and
// returns how many it removed.
func (x *Index) Sweep(t time.Time) int { return x.ix.sweep(t) }

// Len returns how many entries the index holds.
func (x *Index) Len() int { return int(x.ix.count.Load()) }

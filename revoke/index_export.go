package revoke

import "time"

// FingerprintSize is how many leading bytes of a revocation's ID an Index
// keeps (and a Revoker's index, and its Snapshot), of which it compares 86
// bits: a token not revoked is reported revoked with probability at most
// n·2^-86 over n entries, below 2^-60 up to 2^26 (67 million) entries.
const FingerprintSize = 11

// ExpiryResolution is the precision to which an Index keeps an entry's
// expiry: rounded up to it, so that an entry may be held, and its token
// reported revoked, up to this long after the token expired.
const ExpiryResolution = time.Duration(expUnit) * time.Second

// Index is the in-memory set of revoked tokens that a Revoker answers
// IsRevoked from, for programs that hold revocations without a store: the
// follower of a revocation feed (package follow) keeps one. It holds a
// fingerprint of each ID (FingerprintSize bytes) and its expiry to the hour,
// in 15 to 17 bytes an entry at 1 to 10 million (BENCHMARKS.md). Contains takes no lock and
// does not allocate; Add, Sweep and Len may run concurrently with it and
// with each other. The zero Index is not usable: call NewIndex.
type Index struct {
	ix index
}

// NewIndex returns an empty Index.
func NewIndex() *Index { return new(Index) }

// Add puts rev in the index, by the first FingerprintSize bytes of rev.ID
// (the rest, rev.Check and rev.Seq are ignored: an entry of a Revoker's
// Snapshot, which carries only those bytes, is added as the revocation it
// stands for). Adding an ID already held keeps the later expiry.
func (x *Index) Add(rev Revocation) { x.ix.add(rev) }

// Contains reports whether the token whose key is key (the token itself,
// or what a key function such as the one of WithTokenKey makes of it) is
// revoked, as Revoker.IsRevoked does from its own index: by the SHA-256 of
// key.
func (x *Index) Contains(key string) bool {
	return x.ix.contains(key)
}

// Sweep drops the entries that expired before t (to ExpiryResolution) and
// returns how many it dropped. It visits only the parts of the index where
// expired entries are at least a quarter of the entries, and leaves the
// others for a later Sweep, so that its work is proportional to the
// expired entries, not to the live ones; an expired entry still held is
// reported revoked, which is harmless since its token has expired.
func (x *Index) Sweep(t time.Time) int { return x.ix.sweep(t) }

// Len returns how many entries the index holds.
func (x *Index) Len() int { return int(x.ix.count.Load()) }

// IndexLoader builds a new Index out of many revocations at once, such as a
// feed's snapshot: it buffers them and builds each part of the index once,
// at its final size, where Add on an Index would grow it step by step.
// The Index is not readable until Index returns it. An IndexLoader is not
// safe for concurrent use.
type IndexLoader struct {
	x *Index
}

// NewIndexLoader returns a loader of an empty Index.
func NewIndexLoader() *IndexLoader {
	x := NewIndex()
	x.ix.beginLoad()
	return &IndexLoader{x: x}
}

// Add adds rev as Index.Add does.
func (l *IndexLoader) Add(rev Revocation) { l.x.ix.add(rev) }

// Index builds the Index and returns it. The loader must not be used
// afterwards.
func (l *IndexLoader) Index() *Index {
	l.x.ix.endLoad()
	return l.x
}

package memory

import "github.com/sdkauth/revocation/revoke"

// state is what the Store holds: the records, and the indexes over them.
type state struct {
	records map[revoke.ID]revoke.Record
	grants  map[revoke.ID]map[revoke.ID]struct{} // grant -> its records
	owners  map[owner]map[revoke.ID]struct{}     // subject or client -> its grants
	seq     uint64                               // the highest Seq handed out or stored
}

// owner is a key of the owner index: a subject or a client.
type owner struct {
	by  revoke.Owner
	key string
}

// ownersOf returns the owner index keys of rec: its client, and its subject
// when it has one.
func ownersOf(rec revoke.Record) []owner {
	if rec.Subject == "" {
		return []owner{{revoke.ByClient, rec.ClientID}}
	}
	return []owner{{revoke.ByClient, rec.ClientID}, {revoke.BySubject, rec.Subject}}
}

// apply commits the writes of a transaction.
func (s *state) apply(w *overlay, seq uint64) {
	if s.records == nil {
		s.records = make(map[revoke.ID]revoke.Record)
		s.grants = make(map[revoke.ID]map[revoke.ID]struct{})
		s.owners = make(map[owner]map[revoke.ID]struct{})
	}
	for _, id := range w.order {
		if rec, ok := w.records[id]; ok {
			s.put(rec)
		} else {
			s.remove(id)
		}
	}
	s.seq = max(s.seq, seq)
}

func (s *state) put(rec revoke.Record) {
	// A transaction may delete a record and put it again under another
	// grant: the record it replaces leaves its grant first.
	if old, ok := s.records[rec.ID]; ok && old.Grant != rec.Grant {
		s.remove(rec.ID)
	}
	s.records[rec.ID] = rec
	members := s.grants[rec.Grant]
	if members == nil {
		// The grant's first record: its owners gain it. A record never
		// moves to another grant, and a grant's records share their
		// owners (see revoke.Store).
		members = make(map[revoke.ID]struct{})
		s.grants[rec.Grant] = members
		for _, o := range ownersOf(rec) {
			grants := s.owners[o]
			if grants == nil {
				grants = make(map[revoke.ID]struct{})
				s.owners[o] = grants
			}
			grants[rec.Grant] = struct{}{}
		}
	}
	members[rec.ID] = struct{}{}
}

func (s *state) remove(id revoke.ID) {
	rec, ok := s.records[id]
	if !ok {
		return
	}
	delete(s.records, id)
	members := s.grants[rec.Grant]
	delete(members, id)
	if len(members) > 0 {
		return
	}
	// The grant's last record: its owners lose it.
	delete(s.grants, rec.Grant)
	for _, o := range ownersOf(rec) {
		delete(s.owners[o], rec.Grant)
		if len(s.owners[o]) == 0 {
			delete(s.owners, o)
		}
	}
}

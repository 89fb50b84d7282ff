package main

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"github.com/sdkauth/revocation/revoke"
	"github.com/spf13/cobra"
)

// maxDistinct bounds the sets stats keeps to count distinct grants, subjects
// and clients, so that its memory stays bounded whatever the store's size;
// past it a count is reported as a lower bound.
const maxDistinct = 1 << 20

// distinct counts distinct values by 64-bit hash, up to maxDistinct.
type distinct struct {
	seen map[uint64]struct{}
	over bool
}

var seed = maphash.MakeSeed()

func (d *distinct) add(b []byte) {
	if d.seen == nil {
		d.seen = make(map[uint64]struct{})
	}
	h := maphash.Bytes(seed, b)
	if _, ok := d.seen[h]; ok {
		return
	}
	if len(d.seen) >= maxDistinct {
		d.over = true
		return
	}
	d.seen[h] = struct{}{}
}

type count struct {
	N       int  `json:"n"`
	AtLeast bool `json:"at_least,omitempty"` // more than N: the count was capped
}

func (d *distinct) count() count { return count{N: len(d.seen), AtLeast: d.over} }

func (c count) String() string {
	if c.AtLeast {
		return fmt.Sprintf("at least %d", c.N)
	}
	return fmt.Sprint(c.N)
}

type clientCount struct {
	ClientID string `json:"client_id"`
	Tokens   int    `json:"tokens"`
}

type statsResult struct {
	Store        string        `json:"store"`
	Schema       string        `json:"schema"`
	SizeBytes    *int64        `json:"size_bytes,omitempty"` // nil: unknown
	Records      int           `json:"records"`
	Live         int           `json:"live"`
	Revoked      int           `json:"revoked"`
	Expired      int           `json:"expired"`
	Spent        int           `json:"spent"`
	Access       int           `json:"access"`
	Refresh      int           `json:"refresh"`
	Grants       count         `json:"grants"`
	Subjects     count         `json:"subjects"`
	Clients      count         `json:"clients"`
	TopClients   []clientCount `json:"top_clients"`
	OldestExpiry *time.Time    `json:"oldest_expiry,omitempty"`
	HighestSeq   uint64        `json:"highest_seq"`
}

func (a *app) statsCmd() *cobra.Command {
	var top int
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count the store's records: live, revoked, expired, grants, subjects, clients",
		Long: `stats reads every record, streaming, and prints: records; live (neither
revoked nor expired), revoked, expired (awaiting purge, revoked or not) and
spent (refresh tokens rotated by Rotate, kept to detect their reuse) counts;
access and
refresh tokens; distinct grants, subjects and clients (counted exactly up to
1048576 each, reported as "at least" beyond); the clients with most tokens
(--top); the oldest expiry; the highest revocation sequence; the schema
version; and the size on disk (postgres: of the tables, their indexes and
TOAST; mysql: of the tables and their indexes, InnoDB's estimate). The store is only read: a store or tables that do not exist (a
mistyped --table-prefix) are not created, and fail with exit code 4.`,
		Example: `  revokectl --store bolt:/var/lib/authd/revocation.db stats
  REVOKE_STORE=sqlite:rev.db revokectl stats --top 10 --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if top < 0 || top > 1000 {
				return usagef("--top %d is outside [0, 1000]", top)
			}
			ctx := cmd.Context()
			s, err := a.open(ctx, openOptions{readOnly: true})
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			res := statsResult{Store: s.url, Schema: s.schema}
			tally := newTally(time.Now())
			if err := revoke.ScanAll(ctx, s, 0, func(rec revoke.Record) error {
				tally.add(&res, rec)
				return nil
			}); err != nil {
				return err
			}
			tally.finish(&res, top)
			if s.size != nil {
				size, err := s.size(ctx)
				if err != nil {
					return err
				}
				res.SizeBytes = &size
			}
			return a.print(res, res.human())
		},
	}
	cmd.Flags().IntVar(&top, "top", 5, "how many clients to list, by token count")
	return cmd
}

// tally counts what stats reports beside the plain counts, as the records
// stream by.
type tally struct {
	now                       time.Time
	grants, subjects, clients distinct
	perClient                 map[string]int // bounded by maxDistinct entries
	oldest                    time.Time
}

func newTally(now time.Time) *tally {
	return &tally{now: now, perClient: make(map[string]int)}
}

// add counts rec into res and the tally.
func (t *tally) add(res *statsResult, rec revoke.Record) {
	res.Records++
	revoked, expired := rec.Revoked(), !rec.ExpiresAt.After(t.now)
	switch {
	case revoked && expired:
		res.Revoked++
		res.Expired++
	case revoked:
		res.Revoked++
	case expired:
		res.Expired++
	default:
		res.Live++
	}
	if rec.Spent() {
		res.Spent++
	}
	if rec.Kind == revoke.Refresh {
		res.Refresh++
	} else {
		res.Access++
	}
	t.grants.add(rec.Grant[:])
	t.subjects.add([]byte(rec.Subject))
	t.clients.add([]byte(rec.ClientID))
	if _, ok := t.perClient[rec.ClientID]; ok || len(t.perClient) < maxDistinct {
		t.perClient[rec.ClientID]++
	}
	if t.oldest.IsZero() || rec.ExpiresAt.Before(t.oldest) {
		t.oldest = rec.ExpiresAt
	}
	res.HighestSeq = max(res.HighestSeq, rec.Seq)
}

// finish puts the tally's distinct counts, its top clients (top of them)
// and the oldest expiry into res.
func (t *tally) finish(res *statsResult, top int) {
	res.Grants, res.Subjects, res.Clients = t.grants.count(), t.subjects.count(), t.clients.count()
	res.TopClients = []clientCount{}
	for c, n := range t.perClient {
		res.TopClients = append(res.TopClients, clientCount{c, n})
	}
	slices.SortFunc(res.TopClients, func(x, y clientCount) int {
		return cmp.Or(cmp.Compare(y.Tokens, x.Tokens), strings.Compare(x.ClientID, y.ClientID))
	})
	res.TopClients = res.TopClients[:min(top, len(res.TopClients))]
	if !t.oldest.IsZero() {
		oldest := t.oldest
		res.OldestExpiry = &oldest
	}
}

func (r statsResult) human() string {
	var b strings.Builder
	p := func(k string, v any) { fmt.Fprintf(&b, "%-14s %v\n", k+":", v) }
	p("store", r.Store)
	p("schema", r.Schema)
	if r.SizeBytes != nil {
		p("size", fmt.Sprintf("%d bytes", *r.SizeBytes))
	}
	p("records", r.Records)
	p("live", r.Live)
	p("revoked", r.Revoked)
	p("expired", fmt.Sprintf("%d (awaiting purge)", r.Expired))
	p("spent", fmt.Sprintf("%d (rotated refresh tokens)", r.Spent))
	p("access", r.Access)
	p("refresh", r.Refresh)
	p("grants", r.Grants)
	p("subjects", r.Subjects)
	p("clients", r.Clients)
	if r.OldestExpiry != nil {
		p("oldest expiry", r.OldestExpiry.Format(time.RFC3339))
	}
	p("highest seq", r.HighestSeq)
	for i, c := range r.TopClients {
		p(fmt.Sprintf("top client %d", i+1), fmt.Sprintf("%s (%d tokens)", c.ClientID, c.Tokens))
	}
	return b.String()
}

package revoke_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// The refresh step of a token endpoint: the presented refresh token is
// rotated, and presenting it a second time kills the whole grant, the
// newest tokens included (RFC 9700 section 4.14.2).
func ExampleRevoker_Rotate() {
	ctx := context.Background()
	r, err := revoke.New(memory.New(), revoke.WithRotation(revoke.RotationPolicy{ReuseGrace: 0, GraceRetries: revoke.DefaultGraceRetries}))
	if err != nil {
		panic(err)
	}
	defer r.Close()
	exp := time.Now().Add(24 * time.Hour)

	// Login: the grant's first refresh token.
	_ = r.Issue(ctx, revoke.Token{Value: "rt-1", Kind: revoke.Refresh, ClientID: "app", Subject: "alice", ExpiresAt: exp})

	// Refresh: rt-1 is exchanged for rt-2 (Subject and Parent follow rt-1),
	// and the new access token is minted from rt-2.
	err = r.Rotate(ctx, "rt-1", revoke.Token{Value: "rt-2", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp})
	fmt.Println("rotate rt-1:", err)
	_ = r.Issue(ctx, revoke.Token{Value: "at-2", Kind: revoke.Access, ClientID: "app", Parent: "rt-2", ExpiresAt: exp})

	// rt-1 presented again: reuse.
	err = r.Rotate(ctx, "rt-1", revoke.Token{Value: "rt-3", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp})
	fmt.Println("reuse detected:", errors.Is(err, revoke.ErrReused))
	newest, _ := r.IsRevoked(ctx, "rt-2")
	access, _ := r.IsRevoked(ctx, "at-2")
	fmt.Println("rt-2 revoked:", newest, "at-2 revoked:", access)
	// Output:
	// rotate rt-1: <nil>
	// reuse detected: true
	// rt-2 revoked: true at-2 revoked: true
}

// Log out everywhere: every grant of a user, across clients, after a
// password change.
func ExampleRevoker_RevokeSubject() {
	ctx := context.Background()
	r, err := revoke.New(memory.New())
	if err != nil {
		panic(err)
	}
	defer r.Close()
	exp := time.Now().Add(24 * time.Hour)
	_ = r.Issue(ctx, revoke.Token{Value: "web-rt", Kind: revoke.Refresh, ClientID: "web", Subject: "alice", ExpiresAt: exp})
	_ = r.Issue(ctx, revoke.Token{Value: "web-at", Kind: revoke.Access, ClientID: "web", Parent: "web-rt", ExpiresAt: exp})
	_ = r.Issue(ctx, revoke.Token{Value: "phone-rt", Kind: revoke.Refresh, ClientID: "phone", Subject: "alice", ExpiresAt: exp})
	_ = r.Issue(ctx, revoke.Token{Value: "bob-rt", Kind: revoke.Refresh, ClientID: "web", Subject: "bob", ExpiresAt: exp})

	n, err := r.RevokeSubject(ctx, "alice")
	fmt.Println("revoked:", n, err)
	bob, _ := r.IsRevoked(ctx, "bob-rt")
	fmt.Println("bob's token revoked:", bob)

	// A leaked client secret: every grant of the client.
	n, err = r.RevokeClient(ctx, "web")
	fmt.Println("revoked:", n, err)
	// Output:
	// revoked: 3 <nil>
	// bob's token revoked: false
	// revoked: 1 <nil>
}

// An audit trail of revocations, without raw tokens, through an observer.
func ExampleWithObserver() {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // for a stable output
			}
			return a
		},
	}))
	audit := func(ev revoke.Event) {
		if ev.Kind == revoke.EventRevoked || ev.Kind == revoke.EventReuse {
			log.Info("revocation", "kind", ev.Kind, "reason", ev.Reason, "op", ev.Op,
				"client", ev.ClientID, "subject", ev.Subject, "grant", ev.Grant, "tokens", ev.Count)
		}
	}
	r, err := revoke.New(memory.New(), revoke.WithObserver(audit))
	if err != nil {
		panic(err)
	}
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	_ = r.Issue(ctx, revoke.Token{Value: "rt", Kind: revoke.Refresh, ClientID: "app", Subject: "alice", ExpiresAt: exp})
	_ = r.Issue(ctx, revoke.Token{Value: "at", Kind: revoke.Access, ClientID: "app", Parent: "rt", ExpiresAt: exp})
	_, _ = r.Revoke(ctx, "rt", "app")
	st := r.Stats()
	fmt.Println("cascade:", st.Revoked[revoke.ReasonCascade], "index:", st.IndexEntries)
	// Output:
	// level=INFO msg=revocation kind=revoked reason=cascade op=Revoke client=app subject=alice grant=736fa712cab0 tokens=2
	// cascade: 2 index: 2
}

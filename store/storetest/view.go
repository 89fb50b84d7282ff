package storetest

import (
	"fmt"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// viewWaitBound bounds how long a View may take while an Update is held
// open: a liveness bound on a View that waits for the Update, not a
// timing assertion.
const viewWaitBound = 10 * time.Second

// testViewNotBlockedByUpdate: a View runs to its end while an Update that
// has written is still open, and does not see that Update's write.
func testViewNotBlockedByUpdate(f *fixture) {
	rec := f.rec("pending", revoke.ID{})
	written, release := make(chan struct{}), make(chan struct{})
	updated := make(chan error, 1)
	go func() {
		updated <- f.s.Update(f.ctx, func(tx revoke.Tx) error {
			if err := tx.Put(f.ctx, []revoke.Record{rec}); err != nil {
				close(written)
				return err
			}
			close(written)
			<-release
			return nil
		})
	}()
	<-written
	viewed := make(chan error, 1)
	go func() {
		viewed <- f.s.View(f.ctx, func(tx revoke.Tx) error {
			got, err := tx.Get(f.ctx, []revoke.ID{rec.ID})
			if err == nil && len(got) != 0 {
				err = fmt.Errorf("get saw a record an open Update wrote")
			}
			return err
		})
	}()
	select {
	case err := <-viewed:
		if err != nil {
			f.t.Errorf("View while an Update was open: %v", err)
		}
	case <-time.After(viewWaitBound):
		f.t.Errorf("View did not return within %v while an Update was open: the contract says a View never waits for an Update", viewWaitBound)
		defer func() { <-viewed }() // after the Update ends
	}
	close(release)
	if err := <-updated; err != nil {
		f.t.Fatalf("Update: %v", err)
	}
}

package revoke

// Queued returns how many writes wait in r's group committer for a
// transaction to take them, so that tests can line writes up in one
// transaction without sleeping.
func Queued(r *Revoker) int {
	r.commit.mu.Lock()
	defer r.commit.mu.Unlock()
	return len(r.commit.queue)
}

package revoke_test

import (
	"testing"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// TestRules checks the rules of package revoke (validation, the cascade,
// rotation and its grace, reuse, owners, purge, untracked revocations)
// through the public API, over the memory store. They are the Revoker's
// rules, the same over every store; package store/storetest checks that a
// store keeps its contract, and runs a Revoker over it for the properties
// that depend on the store (concurrency, durability, sharing).
func TestRules(t *testing.T) {
	open := func(*testing.T) revoke.Store { return memory.New() }
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, func(*testing.T) revoke.Store)
	}{
		{"IssueValidatesInput", testIssueValidatesInput},
		{"IssueIsIdempotent", testIssueIsIdempotent},
		{"RevokeAccessTokenAlone", testRevokeAccessTokenAlone},
		{"GrantsAreIsolated", testGrantsAreIsolated},
		{"ClientMismatch", testClientMismatch},
		{"RevokeIsIdempotent", testRevokeIsIdempotent},
		{"UnknownToken", testUnknownToken},
		{"ExpiredToken", testExpiredToken},
		{"RevokeValidatesInput", testRevokeValidatesInput},
		{"IssueUnderRevokedParent", testIssueUnderRevokedParent},
		{"IssueUnderUnknownParent", testIssueUnderUnknownParent},
		{"IssueUnderForeignParent", testIssueUnderForeignParent},
		{"IssueUnderAccessParent", testIssueUnderAccessParent},
		{"IssueUnderExpiredParent", testIssueUnderExpiredParent},
		{"PurgeKeepsGrantRevoked", testPurgeKeepsGrantRevoked},
		{"RevokeUntracked", testRevokeUntracked},
		{"RotationChain", testRotationChain},
		{"RotateRefusals", testRotateRefusals},
		{"ReuseRevokesGrant", testReuseRevokesGrant},
		{"IssueUnderSpentParent", testIssueUnderSpentParent},
		{"GraceImmediateParentOnly", testGraceImmediateParentOnly},
		{"GraceWindow", testGraceWindow},
		{"GraceRetries", testGraceRetries},
		{"GraceWindowFromFirstRotation", testGraceWindowFixed},
		{"SubjectInheritance", testSubjectInheritance},
		{"RevokeClient", testRevokeClient},
		{"OwnerBatches", testOwnerBatches},
		{"PurgeKeepsReuseDetection", testPurgeKeepsReuseDetection},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// Package memory is a revoke.Store held in process memory.
//
// It is for tests, development and servers that can afford to forget every
// revocation when they restart. It implements the whole revoke.Store
// contract: Update transactions run one at a time and are rolled back,
// through an undo log, when their function fails; View transactions run
// concurrently with each other. It passes the conformance suite of package
// store/storetest like the durable backends.
//
// # Caveats
//
//   - Nothing survives the process. Use package bolt or sqlite to keep
//     revocations across restarts.
//   - RevokedSince sorts the revoked records and Expired scans the map: both
//     cost time linear in the number of records.
//   - The subject and client index (Tx.GrantsOf) is a hash map per owner: a
//     batch of RevokeSubject or RevokeClient costs time linear in that
//     owner's grants, so revoking a client of n grants costs about
//     n²/WithOwnerBatch steps (100,000 tokens: BENCHMARKS.md).
package memory

// Package store holds what authors of revoke.Store backends use. Its
// subpackage storetest is the conformance suite: one call proves that a
// backend behaves as the revoke package needs, exactly like the memory, bolt
// and sqlite backends.
package store

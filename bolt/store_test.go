package bolt_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storetest"
	bbolt "go.etcd.io/bbolt"
)

func opener(path string) (revoke.Store, error) { return bolt.Open(path) }

func TestConformance(t *testing.T) {
	var paths sync.Map // *bolt.Store -> its file
	storetest.Run(t, func(t *testing.T) revoke.Store {
		path := filepath.Join(t.TempDir(), "revocation.db")
		s, err := bolt.Open(path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		paths.Store(s, path)
		return s
	}, storetest.WithReopen(func(t *testing.T, s revoke.Store) (revoke.Store, error) {
		path, _ := paths.Load(s)
		return bolt.Open(path.(string), bolt.WithTimeout(50*time.Millisecond))
	}))
}

// TestConformanceNew runs the suite over stores made by New in an
// application's database that holds a bucket of its own, which must survive.
func TestConformanceNew(t *testing.T) {
	var dbs sync.Map // *bolt.Store -> the application's *bbolt.DB
	storetest.Run(t, func(t *testing.T) revoke.Store {
		db, err := bbolt.Open(filepath.Join(t.TempDir(), "app.db"), 0o600, &bbolt.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		putApp(t, db, "k", "v")
		t.Cleanup(func() {
			// The suite has closed the Store by now; the db is the
			// application's, still open, with its bucket intact.
			wantApp(t, db, "k", "v")
			if err := db.Close(); err != nil {
				t.Errorf("closing the application's db: %v", err)
			}
		})
		s, err := bolt.New(db)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		dbs.Store(s, db)
		return s
	}, storetest.WithReopen(func(t *testing.T, s revoke.Store) (revoke.Store, error) {
		db, _ := dbs.Load(s)
		return bolt.New(db.(*bbolt.DB))
	}))
}

func TestCrash(t *testing.T) {
	storetest.RunCrash(t, opener, 20)
}

func TestAtRest(t *testing.T) {
	storetest.RunAtRest(t, opener)
}

// putApp writes key=value into the application's own bucket "app".
func putApp(t *testing.T, db *bbolt.DB, key, value string) {
	t.Helper()
	err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("app"))
		if err != nil {
			return err
		}
		return b.Put([]byte(key), []byte(value))
	})
	if err != nil {
		t.Fatalf("writing the application's bucket: %v", err)
	}
}

// wantApp checks key=value in the application's bucket "app".
func wantApp(t *testing.T, db *bbolt.DB, key, value string) {
	t.Helper()
	err := db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("app"))
		if b == nil {
			return errors.New("the application's bucket is gone")
		}
		if got := string(b.Get([]byte(key))); got != value {
			return errors.New("the application's key holds " + got + ", want " + value)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

var ctx = context.Background()

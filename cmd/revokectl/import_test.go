package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// importStores are the stores import is tested on: a URL in dir for each
// backend, postgres and mysql with tables of a prefix of the test's own
// when REVOKE_POSTGRES_DSN or REVOKE_MYSQL_DSN is set.
func importStores(t *testing.T, dir string) map[string][]string {
	stores := map[string][]string{
		"bolt":   {"--store", "bolt:" + filepath.Join(dir, "rev.db")},
		"sqlite": {"--store", "sqlite:" + filepath.Join(dir, "rev.sqlite")},
	}
	if dsn := postgresDSN(t); dsn != "" {
		prefix := "revokectl_" + strconv.Itoa(os.Getpid()) + "_" + strconv.FormatInt(scriptSeq.Add(1), 10) + "_"
		t.Cleanup(func() { dropTables(t, dsn, prefix) })
		stores["postgres"] = []string{"--store", "postgres:" + dsn, "--table-prefix", prefix}
	}
	if dsn := mysqlDSN(t); dsn != "" {
		prefix := "revokectl_" + strconv.Itoa(os.Getpid()) + "_" + strconv.FormatInt(scriptSeq.Add(1), 10) + "_"
		t.Cleanup(func() { dropMySQLTables(t, dsn, prefix) })
		stores["mysql"] = []string{"--store", "mysql:" + dsn, "--table-prefix", prefix}
	}
	return stores
}

// openURL opens the store of a --store (and --table-prefix) argument list.
func openURL(t *testing.T, args []string) *store {
	t.Helper()
	o := openOptions{lockTimeout: time.Second}
	if len(args) == 4 {
		o.tablePrefix = args[3]
	}
	s, err := openStore(context.Background(), args[1], o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// jsonLines returns records as export writes them.
func jsonLines(t *testing.T, recs ...revoke.Record) string {
	t.Helper()
	var b strings.Builder
	for _, rec := range recs {
		line, err := json.Marshal(toJSON(rec))
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// revokedRecord returns the record of the revoked access token tok.
func revokedRecord(tok string, seq uint64) revoke.Record {
	id := revoke.TokenID(tok)
	return revoke.Record{
		ID: id, Check: revoke.Checksum(tok), Kind: revoke.Access, ClientID: "app", Subject: "alice",
		Grant: id, ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second), Seq: seq,
	}
}

// TestImportUntrustedChecksum: a record whose "check" is wrong imports with
// its checksum unknown, so that a Revoker over the store reports the token
// revoked (a wrong checksum kept would hide it); --trust-checksums keeps
// the checks as given.
func TestImportUntrustedChecksum(t *testing.T) {
	ctx := context.Background()
	for name, store := range importStores(t, t.TempDir()) {
		t.Run(name, func(t *testing.T) {
			wrong := revokedRecord("tok-wrong-check-"+name, 7)
			wrong.Check++
			kept := revokedRecord("tok-kept-check-"+name, 8)
			kept.Check = 12345
			code, out, errOut := runCLI(t, jsonLines(t, wrong), append(store, "import")...)
			if code != exitOK {
				t.Fatalf("import: exit %d, %s%s", code, out, errOut)
			}
			code, out, errOut = runCLI(t, jsonLines(t, kept), append(store, "import", "--trust-checksums")...)
			if code != exitOK {
				t.Fatalf("import --trust-checksums: exit %d, %s%s", code, out, errOut)
			}

			s := openURL(t, store)
			err := s.View(ctx, func(tx revoke.Tx) error {
				for rec, want := range map[revoke.ID]uint32{wrong.ID: 0, kept.ID: 12345} {
					got, found, err := getRecord(ctx, tx, rec)
					if err != nil || !found || got.Check != want {
						t.Errorf("stored check of %s = %d (found %v, %v), want %d", rec, got.Check, found, err, want)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			r, err := revoke.New(s.Store)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if ok, err := r.IsRevoked(ctx, "tok-wrong-check-"+name); !ok || err != nil {
				t.Errorf("IsRevoked of a token imported revoked with a wrong check = %v, %v; want true", ok, err)
			}
		})
	}
}

// TestImportKeepsStoredChecksum: re-importing a store's own export (without
// --trust-checksums) rewrites nothing: the checksums the store holds, which
// a Revoker computed, are kept.
func TestImportKeepsStoredChecksum(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rev.db")
	s, err := openStore(ctx, "bolt:"+path, openOptions{create: true, lockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r, err := revoke.New(s.Store)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"tok-a", "tok-b"} {
		if err := r.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Refresh, ClientID: "app", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Revoke(ctx, "tok-a", "app"); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	store := []string{"--store", "bolt:" + path}
	code, export, errOut := runCLI(t, "", append(store, "export")...)
	if code != exitOK || !strings.Contains(export, `"check":`+strconv.FormatUint(uint64(revoke.Checksum("tok-a")), 10)) {
		t.Fatalf("export: exit %d, %s%s", code, export, errOut)
	}
	code, out, errOut := runCLI(t, export, append(store, "import", "--json")...)
	if code != exitOK || out != `{"records":2,"written":0,"unchanged":2}`+"\n" {
		t.Fatalf("import of the store's own export: exit %d, %s%s; want nothing written", code, out, errOut)
	}
	if _, again, _ := runCLI(t, "", append(store, "export")...); again != export {
		t.Errorf("the store changed:\n%s\nbecame\n%s", export, again)
	}
}

// TestImportRefusesInvalidRecord: a record no Revoker could have written
// fails the whole import, naming its line and field, and nothing is
// written: the good records before it are not imported, a store that did
// not exist is not created. A seq above revoke.MaxSeq is one: it would
// exhaust the store's sequence.
func TestImportRefusesInvalidRecord(t *testing.T) {
	good := revokedRecord("tok-good", 3)
	bad := map[string]func(*revoke.Record){
		"seq":        func(r *revoke.Record) { r.Seq = 18446744073709551615 },
		"client_id":  func(r *revoke.Record) { r.ClientID = "app\x00" },
		"grant":      func(r *revoke.Record) { r.Grant = revoke.TokenID("other") },
		"expires_at": func(r *revoke.Record) { r.ExpiresAt = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) },
		"successor":  func(r *revoke.Record) { r.Successor, r.RotatedAt = revoke.TokenID("next"), time.Now().UTC() },
		"status":     func(r *revoke.Record) { r.Status = revoke.StatusRef{Index: 5} },
	}
	dir := t.TempDir()
	stores := importStores(t, dir)
	for _, store := range stores {
		// Existing stores, holding one record.
		if code, out, errOut := runCLI(t, jsonLines(t, revokedRecord("tok-there", 1)), append(store, "import")...); code != exitOK {
			t.Fatalf("import: exit %d, %s%s", code, out, errOut)
		}
	}
	stores["new bolt"] = []string{"--store", "bolt:" + filepath.Join(dir, "new.db")}
	stores["new sqlite"] = []string{"--store", "sqlite:" + filepath.Join(dir, "new.sqlite")}
	for field, change := range bad {
		rec := revokedRecord("tok-bad", 2)
		change(&rec)
		lines := jsonLines(t, good, rec)
		input := filepath.Join(dir, field+".jsonl")
		if err := os.WriteFile(input, []byte(lines), 0o600); err != nil {
			t.Fatal(err)
		}
		for name, store := range stores {
			for _, how := range [][]string{{"import"}, {"import", "--input", input}, {"import", "--trust-checksums"}} {
				code, out, errOut := runCLI(t, lines, append(store, how...)...)
				if code != exitFailure || !strings.Contains(errOut, "line 2: "+field+" ") || !strings.Contains(errOut, "nothing imported") {
					t.Errorf("%s %v of a bad %s: exit %d, %q%q; want 7 naming line 2 and %s", name, how, field, code, out, errOut, field)
				}
			}
		}
	}
	for name, store := range stores {
		if strings.HasPrefix(name, "new ") {
			path := store[1][strings.IndexByte(store[1], ':')+1:]
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("%s: a refused import created the store: %v", name, err)
			}
			continue
		}
		code, out, _ := runCLI(t, "", append(store, "stats", "--json")...)
		if code != exitOK || !strings.Contains(out, `"records":1,`) {
			t.Errorf("%s after refused imports: exit %d, %s; want the 1 record it held", name, code, out)
		}
	}
}

// TestMigrateRefusesInvalidSource: migrate reads its source through before
// writing, and a record no Revoker could have written (here a seq above
// revoke.MaxSeq, which bolt stores) fails it with the record's ID and
// field, the target not created.
func TestMigrateRefusesInvalidSource(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	s, err := openStore(ctx, "bolt:"+src, openOptions{create: true, lockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	bad := revokedRecord("tok-bad", revoke.MaxSeq+1)
	err = s.Update(ctx, func(tx revoke.Tx) error {
		return tx.Put(ctx, []revoke.Record{revokedRecord("tok-good", 1), bad})
	})
	if err != nil {
		t.Skipf("bolt refuses a seq above MaxSeq itself: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst.sqlite")
	code, out, errOut := runCLI(t, "", "migrate", "--from", "bolt:"+src, "--to", "sqlite:"+dst)
	if code != exitFailure || !strings.Contains(errOut, "--from: record "+bad.ID.String()+": seq is above MaxSeq") {
		t.Errorf("migrate of a source with a bad seq: exit %d, %q%q; want 7 naming the record and seq", code, out, errOut)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("a refused migrate created the target: %v", err)
	}
}

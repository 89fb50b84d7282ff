package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/revoke"
	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run runs revokectl with args and returns the exit code. SIGINT and
// SIGTERM cancel the commands' context: the long commands stop between
// batches, keeping what they committed.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, stdin, stdout, stderr)
}

// runContext runs revokectl with args until ctx is cancelled (an
// interruption) and returns the exit code.
func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.root()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ran := false
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		ran = true
		return a.checkFlags()
	}
	err := root.ExecuteContext(ctx)
	if err == nil {
		return a.code
	}
	code := codeOf(err)
	if !ran && code == exitFailure {
		code = exitUsage // cobra's own: unknown command, wrong arguments
	}
	fmt.Fprintf(stderr, "revokectl: %v\n", err)
	if code == exitUsage && !ran {
		fmt.Fprintln(stderr, "Run 'revokectl --help' for usage.")
	}
	return code
}

// app holds the global flags and the standard streams.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	storeURL    string
	json        bool
	lockTimeout time.Duration
	tablePrefix string
	tokenKey    string // --token-key: a name in tokenKeys

	// code is the exit code of a command that succeeded but has something
	// to say with it (check: not revoked).
	code int
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "revokectl",
		Short: "Inspect, revoke, purge and migrate a revocation store",
		Long: `revokectl operates a revocation store of github.com/sdkauth/revocation from
the shell: check and revoke tokens, see the store's size, purge expired
records, export and import them, migrate between backends.

The store is given by --store URL, or the environment variable REVOKE_STORE:
` + schemeHelp() + `
A bolt file is locked by the process that has it open: while a server runs on
it, revokectl waits --lock-timeout and then fails with exit code 3 and the lock
error; stop the server first (or use an sqlite store, which works beside it).
Tokens are read from standard input or --token-file, never from the command
line, which shell history and ps would show. --token-key jwt finds a JWT by
its issuer and jti, as a server running with
revoke.WithTokenKey(jwtkey.KeyOrOpaque) stores it. Output is for people; --json
prints one JSON object per command for scripts. Errors go to stderr.

` + exitTable,
		Example: `  export REVOKE_STORE=bolt:/var/lib/authd/revocation.db
  revokectl stats
  printf %s "$TOKEN" | revokectl check --json`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(exitUsage, err) })
	// $REVOKE_STORE is read in checkFlags, not made the flag's default,
	// which --help would print with the password of a DSN.
	root.PersistentFlags().StringVar(&a.storeURL, "store", "", "store URL (default $REVOKE_STORE)")
	root.PersistentFlags().BoolVar(&a.json, "json", false, "print JSON for scripts")
	root.PersistentFlags().DurationVar(&a.lockTimeout, "lock-timeout", bolt.DefaultTimeout, "how long to wait for a store's lock held by another process")
	root.PersistentFlags().StringVar(&a.tablePrefix, "table-prefix", "revoke_", "prefix of the store's tables (sqlite, postgres, mysql), as the servers were configured")
	root.PersistentFlags().StringVar(&a.tokenKey, "token-key", cmp.Or(os.Getenv("REVOKE_TOKEN_KEY"), "raw"),
		"how the servers identify a token: raw (its bytes) or jwt (revoke.WithTokenKey(jwtkey.KeyOrOpaque)); $REVOKE_TOKEN_KEY sets the default")
	root.AddCommand(a.statsCmd(), a.checkCmd(), a.revokeCmd(), a.revokeSubjectCmd(), a.revokeClientCmd(),
		a.purgeCmd(), a.exportCmd(), a.importCmd(), a.migrateCmd())
	return root
}

// args returns a cobra argument check whose errors are usage errors.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		return withCode(exitUsage, check(cmd, a))
	}
}

// checkFlags validates the global flags every command takes, and takes
// the store from $REVOKE_STORE without --store.
func (a *app) checkFlags() error {
	if a.storeURL == "" {
		a.storeURL = os.Getenv("REVOKE_STORE")
	}
	if _, ok := tokenKeys[a.tokenKey]; !ok {
		return usagef("--token-key %q: want raw or jwt", a.tokenKey)
	}
	if a.lockTimeout < 0 {
		return usagef("--lock-timeout %v is negative", a.lockTimeout)
	}
	return nil
}

// open opens the --store store.
func (a *app) open(ctx context.Context, o openOptions) (*store, error) {
	o.lockTimeout, o.tablePrefix = a.lockTimeout, a.tablePrefix
	if a.lockTimeout < 0 {
		return nil, usagef("--lock-timeout %v is negative", a.lockTimeout)
	}
	return openStore(ctx, a.storeURL, o)
}

// print writes v as JSON with --json, else the human text.
func (a *app) print(v any, human string) error {
	if a.json {
		enc := json.NewEncoder(a.stdout)
		return enc.Encode(v)
	}
	_, err := io.WriteString(a.stdout, human)
	return err
}

// readToken reads one token from path, or standard input when path is
// empty. One trailing newline (LF or CRLF) is dropped, as echo and editors
// add one.
func (a *app) readToken(path string) (string, error) {
	var r io.Reader = a.stdin
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", withCode(exitNotFound, fmt.Errorf("token file: %w", err))
			}
			return "", err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, revoke.MaxTokenLength+3))
	if err != nil {
		return "", fmt.Errorf("reading the token: %w", err)
	}
	tok := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	switch {
	case tok == "":
		return "", usagef("no token on %s: pipe it in (never on the command line)", inputName(path))
	case len(tok) > revoke.MaxTokenLength:
		return "", usagef("the token on %s is longer than %d bytes", inputName(path), revoke.MaxTokenLength)
	case strings.ContainsAny(tok, "\n"):
		return "", usagef("%s holds more than one line: give one token", inputName(path))
	}
	return tok, nil
}

func inputName(path string) string {
	if path == "" {
		return "standard input"
	}
	return path
}

// closeStore closes s, keeping the first error.
func closeStore(s interface{ Close() error }, err *error) {
	if cerr := s.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}

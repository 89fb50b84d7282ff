package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEQuotesThisProgram checks that the README's quick start is this
// program, verbatim from its import block on, so that the quick start
// always compiles.
func TestREADMEQuotesThisProgram(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	code := string(src)
	code = code[strings.Index(code, "import ("):]
	if !strings.Contains(string(readme), "```go\n"+code+"```\n") {
		t.Fatal("README.md does not quote examples/quickstart/main.go (from its import block on) in a ```go block: copy the file into the README's quick start")
	}
}

package readme_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// block is a ```go block of README.md.
type block struct {
	line int    // of its opening fence, from 1
	code string // between the fences, each line ending with "\n"
}

// fragment is a README fragment held by a file of this package.
type fragment struct {
	name string
	file string
	line int    // of its "// README: name" marker, from 1
	code string // without the marker's indentation, each line ending with "\n"
}

const (
	startMarker = "// README: "
	endMarker   = "// README end: "
)

// TestREADMEGoBlocksAreCompiled checks that every ```go block of README.md
// is compiled: it is either the quick start (examples/quickstart, whose own
// test checks the quotation) or a fragment of this package, verbatim. It also
// checks that every fragment of this package is still a block of README.md,
// so that none is left behind when the README changes.
func TestREADMEGoBlocksAreCompiled(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlocks(t, string(readme))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block: the quick start at least should be one")
	}
	quickstart := quickStart(t)
	frags := fragments(t)
	if len(frags) == 0 {
		t.Fatal("no fragment found in examples/readme: are the markers still " + startMarker + "name / " + endMarker + "name?")
	}
	quoted := make(map[string]bool, len(frags))
	for _, b := range blocks {
		if b.code == quickstart {
			continue
		}
		found := false
		for _, f := range frags {
			if f.code == b.code {
				quoted[f.name], found = true, true
			}
		}
		if !found {
			t.Errorf("README.md:%d: this ```go block is not compiled: copy it verbatim (gofmt-formatted) into a function of examples/readme, between %q and %q comments", b.line, startMarker+"name", endMarker+"name")
		}
	}
	for _, f := range frags {
		if !quoted[f.name] {
			t.Errorf("%s:%d: fragment %q is no ```go block of README.md: make the README's block and this fragment equal, or remove the fragment", f.file, f.line, f.name)
		}
	}
}

// goBlocks returns the ```go blocks of the Markdown text md.
func goBlocks(t *testing.T, md string) []block {
	t.Helper()
	var blocks []block
	var cur *block
	inFence := false
	for i, line := range strings.Split(md, "\n") {
		switch {
		case !inFence && strings.HasPrefix(line, "```"):
			inFence = true
			if strings.TrimSpace(strings.TrimPrefix(line, "```")) == "go" {
				cur = &block{line: i + 1}
			}
		case inFence && strings.TrimSpace(line) == "```":
			inFence = false
			if cur != nil {
				blocks = append(blocks, *cur)
				cur = nil
			}
		case cur != nil:
			cur.code += line + "\n"
		}
	}
	if inFence {
		t.Fatal("README.md ends inside a fenced block")
	}
	return blocks
}

// quickStart returns the quick start as README.md quotes it: the program of
// examples/quickstart from its package clause on.
func quickStart(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../quickstart/main.go")
	if err != nil {
		t.Fatal(err)
	}
	code := string(src)
	i := strings.Index(code, "\npackage main\n")
	if i < 0 {
		t.Fatal("examples/quickstart/main.go has no package clause on a line of its own")
	}
	return code[i+1:]
}

// fragments returns the fragments held by the Go files of this package, each
// between a "// README: name" line and a "// README end: name" line at the
// same indentation, which the fragment's lines all have (blank lines aside).
// Blank lines ending a fragment are not part of it.
func fragments(t *testing.T) []fragment {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var frags []fragment
	seen := make(map[string]string)
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cur *fragment
		var indent string
		for i, line := range strings.Split(string(src), "\n") {
			trimmed := strings.TrimLeft(line, "\t")
			switch {
			case strings.HasPrefix(trimmed, startMarker):
				if cur != nil {
					t.Fatalf("%s:%d: fragment %q starts inside fragment %q", file, i+1, trimmed, cur.name)
				}
				cur = &fragment{name: strings.TrimPrefix(trimmed, startMarker), file: file, line: i + 1}
				indent = line[:len(line)-len(trimmed)]
				if where, ok := seen[cur.name]; ok {
					t.Fatalf("%s:%d: fragment %q is also at %s", file, i+1, cur.name, where)
				}
				seen[cur.name] = file
			case strings.HasPrefix(trimmed, endMarker):
				name := strings.TrimPrefix(trimmed, endMarker)
				if cur == nil || name != cur.name || line[:len(line)-len(trimmed)] != indent {
					t.Fatalf("%s:%d: %q does not end the fragment started before it at the same indentation", file, i+1, trimmed)
				}
				// gofmt puts a blank line between a top-level declaration
				// and the comment after it: that line is not the fragment's.
				cur.code = strings.TrimRight(cur.code, "\n") + "\n"
				if cur.code == "\n" {
					t.Fatalf("%s:%d: fragment %q is empty", file, cur.line, cur.name)
				}
				frags = append(frags, *cur)
				cur = nil
			case cur != nil:
				if line != "" && !strings.HasPrefix(line, indent) {
					t.Fatalf("%s:%d: a line of fragment %q is indented less than its marker", file, i+1, cur.name)
				}
				cur.code += strings.TrimPrefix(line, indent) + "\n"
			}
		}
		if cur != nil {
			t.Fatalf("%s:%d: fragment %q has no %q line", file, cur.line, cur.name, endMarker+cur.name)
		}
	}
	return frags
}

// goDirective returns the version of the go directive of a go.mod or
// go.work file ("1.25.0").
func goDirective(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s has no go directive", path)
	return ""
}

// minor returns "1.25" of "1.25.0".
func minor(v string) string {
	if i := strings.Index(v, "."); i >= 0 {
		if j := strings.Index(v[i+1:], "."); j >= 0 {
			return v[:i+1+j]
		}
	}
	return v
}

// TestREADMEGoVersions checks that README.md states the Go versions the
// go directives ask for, once each: the library's (go.mod) and the one a
// clone needs (examples/go.mod and go.work, which must agree), and names no
// other Go version.
func TestREADMEGoVersions(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lib := goDirective(t, "../../go.mod")
	examples, work := goDirective(t, "../go.mod"), goDirective(t, "../../go.work")
	if minor(examples) != minor(work) {
		t.Fatalf("examples/go.mod says go %s, go.work go %s: make them agree", examples, work)
	}
	text := strings.Join(strings.Fields(string(readme)), " ")
	for _, want := range []string{
		"The library needs Go " + minor(lib) + " or newer (its `go.mod` says `go " + lib + "`).",
		"needs Go " + minor(work) + ", which `examples/go.mod` and `go.work` ask for",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("README.md does not say %q", want)
		}
	}
	for _, m := range regexp.MustCompile(`Go (1\.[0-9]+)`).FindAllStringSubmatch(text, -1) {
		if m[1] != minor(lib) && m[1] != minor(work) {
			t.Errorf("README.md names Go %s; the go directives ask for %s (library) and %s (examples)", m[1], minor(lib), minor(work))
		}
	}
}

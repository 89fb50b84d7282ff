// Package readme compiles the Go fragments of the repository's README.md, so
// that the README's code cannot drift from the library's API. It exists for
// nothing else: none of its functions is meant to be called.
//
// Each fragment is held verbatim (gofmt indents it one tab inside a function)
// between a "// README: name" comment and a "// README end: name" comment,
// with the declarations it needs around it as parameters and locals. The
// package's test fails unless every ```go block of README.md is either the
// quick start (examples/quickstart, checked by its own test) or one of these
// fragments, and unless every fragment here is still in README.md.
//
// To change a fragment, change it in both places; to add one, add a function
// holding it, marked the same way.
package readme

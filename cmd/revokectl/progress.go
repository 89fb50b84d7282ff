package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// progress reports a long command's advance on stderr: a progress bar on a
// terminal, otherwise one plain line per batch (for logs and scripts).
type progress struct {
	bar  *progressbar.ProgressBar
	w    io.Writer
	verb string
	n    int64
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// newProgress reports on w; verb says what is counted ("purged").
func newProgress(w io.Writer, verb string) *progress {
	p := &progress{w: w, verb: verb}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(verb),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("records"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// add counts n more records, one batch.
func (p *progress) add(n int) {
	p.n += int64(n)
	if p.bar != nil {
		_ = p.bar.Add(n)
		return
	}
	fmt.Fprintf(p.w, "%s %d records\n", p.verb, p.n)
}

// done ends the report.
func (p *progress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

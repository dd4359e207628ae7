package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// progress is a progress bar on stderr when it is a terminal (or when
// asked), and nothing in a pipe. It is safe for concurrent use.
type progress struct {
	w    io.Writer
	what string
	show bool
	mu   sync.Mutex
	bar  *progressbar.ProgressBar
}

// newProgress shows a bar on w when mode is "always", or "auto" and w is
// a terminal. total may be 0 when not yet known (see set).
func newProgress(w io.Writer, mode, what string, total int) *progress {
	p := &progress{w: w, what: what, show: mode == "always"}
	if mode == "auto" {
		if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
			p.show = true
		}
	}
	if p.show && total > 0 {
		p.start(total)
	}
	return p
}

func (p *progress) start(total int) {
	p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(p.what),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(), progressbar.OptionSetPredictTime(true))
}

// add counts n more items done.
func (p *progress) add(n int) {
	if !p.show || n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Add(n)
	}
}

// update sets the items done out of total.
func (p *progress) update(done, total int) {
	if !p.show {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil && total > 0 {
		p.start(total)
	}
	if p.bar != nil {
		p.bar.Set(done)
	}
}

// finish completes and clears the bar.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
	}
}

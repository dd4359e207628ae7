package stratum

import (
	"bufio"
	"context"
	"net"
	"sync"
	"time"
)

// Pump runs one server-side Stratum connection: a writer goroutine sends
// the lines queued on out (every line already queued goes in one flush,
// each flush under writeTimeout), and read runs on the calling goroutine.
// When read returns, the writer fails or ctx ends, the connection is
// closed and Pump waits for its goroutines. It returns read's error and
// the writer's. The server and the proxy's miner side share it.
func Pump(ctx context.Context, nc net.Conn, out <-chan []byte, writeTimeout time.Duration, read func(ctx context.Context) error) (readErr, writeErr error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		<-ctx.Done()
		_ = nc.Close()
	})
	wg.Go(func() {
		writeErr = writeQueued(ctx, nc, out, writeTimeout)
		cancel()
	})
	readErr = read(ctx)
	cancel()
	wg.Wait()
	return readErr, writeErr
}

// writeQueued writes queued lines until ctx ends or a write fails.
func writeQueued(ctx context.Context, nc net.Conn, out <-chan []byte, timeout time.Duration) error {
	w := bufio.NewWriter(nc)
	for {
		var line []byte
		select {
		case <-ctx.Done():
			return nil
		case line = <-out:
		}
		if err := nc.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		for more := true; more; {
			select {
			case line = <-out:
				if _, err := w.Write(line); err != nil {
					return err
				}
			default:
				more = false
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}

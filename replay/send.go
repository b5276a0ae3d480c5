package replay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/visor-dns/visor/report"
)

// Config says where and how to send a Plan.
type Config struct {
	URL         string        // the full write URL, e.g. http://127.0.0.1:9090/api/v1/write
	Protocol    int           // 1 (remote write 1.0, the default) or 2
	Concurrency int           // requests in flight at most; only batches sharing no series overlap
	Retries     int           // retries of one request on 5xx, 429 and network errors (at least 1)
	Backoff     time.Duration // first retry delay, doubling (with jitter) up to MaxBackoff
	// MaxBackoff is the longest wait before a retry: a longer Retry-After is
	// cut to it (and Notify told), so a receiver cannot stall a replay for a day.
	MaxBackoff time.Duration
	Client     *http.Client
	// Progress, when set, is called after every accepted request.
	Progress func(sent, total int, upTo int64)
	// Notify, when set, is told what the receiver asked for and was not
	// granted (a Retry-After beyond MaxBackoff), one line without a newline.
	Notify func(msg string)
}

// Stats counts what a Send did, in samples. Sent ones the receiver took
// (remote write 2.0: as many as its written-count headers say). Rejected ones
// it refused, or that never reached it (no connection). Unknown ones were in
// a request that got no answer (a timeout, a connection lost after sending,
// or a 2.0 answer without written counts): the receiver may have kept them.
// Unsent ones were never tried because an earlier request failed.
type Stats struct {
	Series, Samples, Requests, Retries int
	Sent, Rejected, Unknown, Unsent    int
}

// Send pushes the plan's batches in order. Batches of one wave (sharing no
// series) go out with up to Concurrency requests in flight; the next wave
// starts when the previous one is written, so every series' samples arrive
// in time order and the whole capture arrives oldest first. The first request
// that fails for good (refused, partly written, retries used up, no answer)
// stops the replay: no request starts after it, those in flight finish. Its
// error names the batch and shows the start of the receiver's answer, escaped.
func Send(ctx context.Context, cfg Config, p *Plan) (Stats, error) {
	st := Stats{Series: len(p.Series), Samples: p.Samples}
	if cfg.Retries < 1 {
		return st, errors.New("replay: retries must be at least 1")
	}
	w, err := newWriter(cfg)
	if err != nil {
		return st, err
	}
	conc := max(cfg.Concurrency, 1)

	var (
		mu       sync.Mutex
		firstErr error
		done     = make([]bool, len(p.Batches))
	)
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	send := func(i int) {
		b := &p.Batches[i]
		desc := fmt.Sprintf("request %d of %d (%d samples, %s to %s)", i+1, len(p.Batches), len(b.Samples),
			report.FormatMillis(b.MinT), report.FormatMillis(b.MaxT))
		r := w.write(ctx, p, b, desc, func() {
			mu.Lock()
			st.Retries++
			mu.Unlock()
		})
		mu.Lock()
		defer mu.Unlock()
		st.Requests++
		done[i] = true
		st.Sent += r.written
		if r.unknown {
			st.Unknown += len(b.Samples) - r.written
		} else {
			st.Rejected += len(b.Samples) - r.written
		}
		if r.err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("replay: %s to %s: %w", desc, w.redacted, r.err)
			}
			return
		}
		if cfg.Progress != nil {
			cfg.Progress(st.Sent, p.Samples, b.MaxT)
		}
	}

	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
waves:
	for _, wave := range p.waves() {
		for _, i := range wave {
			sem <- struct{}{} // a slot first, then the check: a failure in flight stops what follows
			if failed() || ctx.Err() != nil {
				<-sem
				break waves
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				send(i)
			}()
		}
		wg.Wait()
	}
	wg.Wait()
	for i, d := range done {
		if !d {
			st.Unsent += len(p.Batches[i].Samples)
		}
	}
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("replay: interrupted: %w", ctx.Err())
	}
	return st, firstErr
}

// Auth is how to authenticate to the receiver and trust its certificate.
type Auth struct {
	BasicUser, BasicPassword string
	BearerToken              string
	Headers                  http.Header // extra headers, e.g. X-Scope-OrgID
	CAFile                   string
	InsecureSkipVerify       bool
}

// NewHTTPClient returns a client that adds auth's credentials and headers to
// every request and trusts auth's CA file (as well as the system's roots).
func NewHTTPClient(auth Auth, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tlsConf := &tls.Config{InsecureSkipVerify: auth.InsecureSkipVerify}
	if auth.CAFile != "" {
		pem, err := os.ReadFile(auth.CAFile)
		if err != nil {
			return nil, fmt.Errorf("replay: CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("replay: CA file %s: no PEM certificate in it", auth.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	tr.TLSClientConfig = tlsConf
	return &http.Client{Timeout: timeout, Transport: &authTransport{next: tr, auth: auth}}, nil
}

type authTransport struct {
	next http.RoundTripper
	auth Auth
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, vs := range t.auth.Headers {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	switch {
	case t.auth.BasicUser != "":
		req.SetBasicAuth(t.auth.BasicUser, t.auth.BasicPassword)
	case t.auth.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+t.auth.BearerToken)
	}
	if req.Header.Get("User-Agent") == "" || strings.HasPrefix(req.Header.Get("User-Agent"), "Go-http-client") {
		req.Header.Set("User-Agent", "visor-replay")
	}
	return t.next.RoundTrip(req)
}

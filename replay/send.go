package replay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"

	"github.com/visor-dns/visor/report"
)

// Config says where and how to send a Plan.
type Config struct {
	URL         string        // the full write URL, e.g. http://127.0.0.1:9090/api/v1/write
	Protocol    int           // 1 (remote write 1.0, the default) or 2
	Concurrency int           // requests in flight at most; only batches sharing no series overlap
	Retries     int           // retries of one request on 5xx, 429 and network errors (at least 1)
	Backoff     time.Duration // first retry delay, doubling (with jitter) up to MaxBackoff; Retry-After adds to it
	MaxBackoff  time.Duration
	Client      *http.Client
	// Progress, when set, is called after every accepted request.
	Progress func(sent, total int, upTo int64)
}

// Stats counts what a Send did. Rejected samples were in a request the
// receiver refused or that failed after every retry; unsent ones were never
// tried because an earlier request failed.
type Stats struct {
	Series, Samples, Requests, Retries, Sent, Rejected, Unsent int
}

// Send pushes the plan's batches in order. Batches of one wave (sharing no
// series) go out with up to Concurrency requests in flight; the next wave
// starts when the previous one is written, so every series' samples arrive
// in time order and the whole capture arrives oldest first. The first request
// that fails for good stops the replay; its error names the batch and shows
// the receiver's answer.
func Send(ctx context.Context, cfg Config, p *Plan) (Stats, error) {
	st := Stats{Series: len(p.Series), Samples: p.Samples}
	if cfg.Retries < 1 {
		return st, errors.New("replay: retries must be at least 1")
	}
	client := cfg.Client
	if client == nil {
		client = http.DefaultClient
	}
	api, err := remote.NewAPI(cfg.URL,
		remote.WithAPIHTTPClient(client),
		remote.WithAPIPath(""), // cfg.URL is the whole write URL
		remote.WithAPIBackoff(remote.BackoffConfig{Min: cfg.Backoff, Max: max(cfg.MaxBackoff, cfg.Backoff), MaxRetries: cfg.Retries}))
	if err != nil {
		return st, fmt.Errorf("replay: %w", err)
	}
	msgType := remote.WriteV1MessageType
	if cfg.Protocol == 2 {
		msgType = remote.WriteV2MessageType
	}
	conc := max(cfg.Concurrency, 1)

	var (
		mu       sync.Mutex
		firstErr error
		done     = make([]bool, len(p.Batches))
	)
	send := func(i int) {
		b := &p.Batches[i]
		var msg any
		if msgType == remote.WriteV2MessageType {
			msg = encodeV2(p, b)
		} else {
			msg = encodeV1(p, b)
		}
		retries := 0
		_, err := api.Write(ctx, msgType, msg, remote.WithWriteRetryCallback(func(error) {
			mu.Lock()
			retries++
			st.Retries++
			mu.Unlock()
		}))
		mu.Lock()
		defer mu.Unlock()
		st.Requests++
		done[i] = true
		if err != nil {
			st.Rejected += len(b.Samples)
			if firstErr == nil {
				gaveUp := ""
				if retries >= cfg.Retries {
					gaveUp = fmt.Sprintf(" (gave up after %d retries)", retries)
				}
				firstErr = fmt.Errorf("replay: request %d of %d (%d samples, %s to %s) to %s: %w%s",
					i+1, len(p.Batches), len(b.Samples), report.FormatMillis(b.MinT), report.FormatMillis(b.MaxT),
					redact(cfg.URL), err, gaveUp)
			}
			return
		}
		st.Sent += len(b.Samples)
		if cfg.Progress != nil {
			cfg.Progress(st.Sent, p.Samples, b.MaxT)
		}
	}

	for _, wave := range p.waves() {
		sem := make(chan struct{}, conc)
		var wg sync.WaitGroup
		for _, i := range wave {
			mu.Lock()
			stop := firstErr != nil
			mu.Unlock()
			if stop || ctx.Err() != nil {
				break
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				send(i)
			}()
		}
		wg.Wait()
		if firstErr != nil || ctx.Err() != nil {
			break
		}
	}
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

// redact drops a password from a URL for messages.
func redact(u string) string {
	if pu, err := url.Parse(u); err == nil && pu.User != nil {
		return pu.Redacted()
	}
	return u
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

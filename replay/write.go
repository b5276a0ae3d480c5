package replay

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/snappy"
)

// The HTTP side of a request is written here rather than left to
// client_golang/exp's remote.API.Write, which reads a whole error body into
// its error, adds any Retry-After to its wait uncapped and keeps 2.0's
// written counts to itself (issue 16).
const (
	maxErrorBody = 4096     // bytes of a receiver's answer shown in an error
	maxDrain     = 64 << 10 // bytes read past them so the connection can be reused; beyond, it is closed

	headerSamplesWritten    = "X-Prometheus-Remote-Write-Samples-Written"
	headerHistogramsWritten = "X-Prometheus-Remote-Write-Histograms-Written"
	headerExemplarsWritten  = "X-Prometheus-Remote-Write-Exemplars-Written"
)

// writer sends one batch at a time, with retries.
type writer struct {
	cfg      Config
	client   *http.Client
	redacted string // cfg.URL without its password, for messages
}

func newWriter(cfg Config) (*writer, error) {
	w := &writer{cfg: cfg, client: cfg.Client, redacted: RedactURL(cfg.URL)}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("replay: %q is not an http:// or https:// URL", w.redacted)
	}
	if w.client == nil {
		w.client = http.DefaultClient
	}
	return w, nil
}

// result is what became of one batch: samples the receiver confirmed, and
// whether the others are unknown (else refused or never delivered).
type result struct {
	written int
	unknown bool
	err     error
}

// attempt is one HTTP exchange's result and whether to try again.
type attempt struct {
	result
	retry      bool
	retryAfter time.Duration
}

// write sends b, retrying on 5xx, 429 and network errors, and says what
// became of its samples. desc names the request in notes.
func (w *writer) write(ctx context.Context, p *Plan, b *Batch, desc string, onRetry func()) result {
	var raw []byte
	if w.cfg.Protocol == 2 {
		var err error
		if raw, err = encodeV2(p, b).MarshalVT(); err != nil {
			return result{err: fmt.Errorf("cannot encode: %w", err)}
		}
	} else {
		raw = encodeV1(p, b).buf
	}
	body := snappy.Encode(nil, raw)
	noAnswer := false // an attempt went unanswered: the receiver may hold its samples
	for n := 0; ; n++ {
		a := w.attempt(ctx, body, len(b.Samples), n)
		if a.err == nil {
			return a.result
		}
		noAnswer = noAnswer || a.unknown
		a.unknown = noAnswer && a.written < len(b.Samples)
		if !a.retry || ctx.Err() != nil {
			return a.result
		}
		if n >= w.cfg.Retries {
			a.err = fmt.Errorf("%w (gave up after %d retries)", a.err, n)
			return a.result
		}
		wait := w.backoff(n)
		if a.retryAfter > wait {
			wait = a.retryAfter
			if limit := max(w.cfg.MaxBackoff, w.cfg.Backoff); wait > limit {
				wait = limit
				if w.cfg.Notify != nil {
					w.cfg.Notify(fmt.Sprintf("replay: %s: receiver asked to wait %s (Retry-After); capped at %s by the retry budget",
						desc, a.retryAfter.Round(time.Second), limit))
				}
			}
		}
		onRetry()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			a.err = fmt.Errorf("%w; interrupted before retrying: %w", a.err, ctx.Err())
			return a.result
		case <-t.C:
		}
	}
}

// backoff is the wait before retry n+1: Backoff doubled n times, at most
// MaxBackoff, with jitter (between half and all of it).
func (w *writer) backoff(n int) time.Duration {
	limit := max(w.cfg.MaxBackoff, w.cfg.Backoff)
	d := w.cfg.Backoff
	for ; n > 0 && d < limit; n-- {
		d *= 2
	}
	d = min(d, limit)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

func (w *writer) attempt(ctx context.Context, body []byte, samples, n int) attempt {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return attempt{result: result{err: fmt.Errorf("cannot make a request: %w", withoutURL(err))}}
	}
	req.Header.Set("Content-Encoding", "snappy")
	if w.cfg.Protocol == 2 {
		req.Header.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "2.0.0")
	} else {
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	}
	if n > 0 {
		req.Header.Set("Retry-Attempt", strconv.Itoa(n))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		err = withoutURL(err)
		switch {
		case ctx.Err() != nil:
			return attempt{result: result{unknown: true, err: fmt.Errorf("no answer, interrupted: %w", err)}}
		case notDelivered(err):
			return attempt{result: result{err: fmt.Errorf("cannot connect: %w", err)}, retry: true}
		}
		return attempt{result: result{unknown: true, err: fmt.Errorf("no answer (the receiver may have kept the request): %w", err)}, retry: true}
	}
	defer resp.Body.Close()
	status := strconv.Itoa(resp.StatusCode)
	if t := http.StatusText(resp.StatusCode); t != "" {
		status += " " + t
	}
	var a attempt
	written, confirmed, herr := 0, false, error(nil)
	if w.cfg.Protocol == 2 {
		written, confirmed, herr = writtenCounts(resp.Header)
		written = min(written, samples)
	}
	if resp.StatusCode/100 == 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		switch {
		case w.cfg.Protocol != 2:
			a.written = samples
		case herr != nil:
			a.unknown, a.err = true, fmt.Errorf("receiver answered %s with %w", status, herr)
		case !confirmed:
			a.unknown, a.err = true, fmt.Errorf("receiver answered %s without %s: it may take only remote write 1.0",
				status, headerSamplesWritten)
		case written < samples:
			a.written, a.err = written, fmt.Errorf("partial write: receiver answered %s but wrote %d of %d samples (%s)",
				status, written, samples, headerSamplesWritten)
		default:
			a.written = samples
		}
		return a
	}
	a.err = fmt.Errorf("receiver answered %s", status)
	if shown := boundedBody(resp); shown != "" {
		a.err = fmt.Errorf("%w: %s", a.err, shown)
	}
	if confirmed && herr == nil && written > 0 {
		a.written = written
		a.err = fmt.Errorf("%w; it wrote %d of %d samples", a.err, written, samples)
	}
	if resp.StatusCode/100 == 5 || resp.StatusCode == http.StatusTooManyRequests {
		a.retry, a.retryAfter = true, retryAfter(resp.Header.Get("Retry-After"))
	}
	return a
}

// boundedBody reads at most maxErrorBody bytes of an answer and returns them
// quoted, Go-style (control characters and invalid UTF-8 escaped, so a body
// cannot drive the terminal), saying so when there was more.
func boundedBody(resp *http.Response) string {
	buf, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+1))
	if len(buf) <= maxErrorBody {
		s := strings.TrimRight(string(buf), " \t\r\n")
		if s == "" {
			return ""
		}
		return strconv.Quote(s)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	s := strconv.Quote(string(buf[:maxErrorBody]))
	if resp.ContentLength > 0 {
		return fmt.Sprintf("%s (first %d of %d bytes shown)", s, maxErrorBody, resp.ContentLength)
	}
	return fmt.Sprintf("%s (first %d bytes shown, more followed)", s, maxErrorBody)
}

// writtenCounts reads remote write 2.0's written-count headers: samples and
// histograms written (visor sends no exemplars, but a bad value still counts
// as a bad answer). confirmed is false when none is present.
func writtenCounts(h http.Header) (written int, confirmed bool, err error) {
	for _, name := range []string{headerSamplesWritten, headerHistogramsWritten, headerExemplarsWritten} {
		v := h.Get(name)
		if v == "" {
			continue
		}
		confirmed = true
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 0 {
			return 0, true, fmt.Errorf("%s: %s, not a count", name, strconv.Quote(v))
		}
		if name != headerExemplarsWritten {
			written += n
		}
	}
	return written, confirmed, nil
}

// retryAfter parses a Retry-After header: seconds or an HTTP date; 0 if
// absent, in the past or unreadable.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(1<<62)/int64(time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// notDelivered says whether a transport error happened before the request
// could reach the receiver: no connection, or a certificate not trusted.
func notDelivered(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var cv *tls.CertificateVerificationError
	return errors.As(err, &cv)
}

// withoutURL drops the URL net/http wraps around its errors: messages name
// the (redacted) URL themselves.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// RedactURL replaces a password in a URL with xxxxx, also in a URL that does
// not parse (it is shown in the error saying so).
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
		return s
	}
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	rest := s[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return s
	}
	user, _, ok := strings.Cut(rest[:at], ":")
	if !ok {
		return s
	}
	return s[:i+3] + user + ":xxxxx" + rest[at:]
}

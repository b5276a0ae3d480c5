// Package replaytest is an in-process remote-write receiver for tests: it
// decodes remote write 1.0 and 2.0 requests, records their samples in arrival
// order, and can answer with injected faults.
package replaytest

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Sample is one received sample; Series is its labels as {a="b",...} with
// __name__ among them, sorted as sent.
type Sample struct {
	Series string
	Labels [][2]string
	T      int64
	V      float64
}

// Request is one received request.
type Request struct {
	Header  http.Header
	Proto   remote.WriteMessageType
	Samples []Sample
	Meta    map[string]string // family -> type (1.0 metadata or 2.0 per-series)
}

// Fault answers one request instead of storing it: a status and body, and
// optional headers; Drop closes the connection without an answer. Delay waits
// before answering (to make a client time out); Keep then stores the request
// as usual, as a receiver does that answers too late. BodyRepeat sends Body
// that many times (a huge error body) when more than 1.
type Fault struct {
	Status     int
	Body       string
	Header     map[string]string
	Drop       bool
	Delay      time.Duration
	Keep       bool
	BodyRepeat int
}

// Receiver is a test server. Faults are used one per request, in order, before
// requests are stored.
type Receiver struct {
	*httptest.Server
	// Delay, set before the first request, holds every request that long
	// before it is answered.
	Delay    time.Duration
	mu       sync.Mutex
	faults   []Fault
	requests []Request
	attempts int
}

// NewReceiver starts a receiver; close it with Close.
func NewReceiver(faults ...Fault) *Receiver {
	r := &Receiver{faults: faults}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// WriteURL is the receiver's write URL.
func (r *Receiver) WriteURL() string { return r.URL + "/api/v1/write" }

// Requests returns the stored requests.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Attempts counts every request, faulted or stored.
func (r *Receiver) Attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}

// Samples returns every stored sample in arrival order.
func (r *Receiver) Samples() []Sample {
	var out []Sample
	for _, q := range r.Requests() {
		out = append(out, q.Samples...)
	}
	return out
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.attempts++
	var f *Fault
	if len(r.faults) > 0 {
		f = &r.faults[0]
		r.faults = r.faults[1:]
	}
	r.mu.Unlock()
	delay := r.Delay
	if f != nil {
		delay += f.Delay
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
		}
	}
	if f != nil && f.Keep {
		f = nil
	}
	if f != nil {
		if f.Drop {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
		}
		for k, v := range f.Header {
			w.Header().Set(k, v)
		}
		if f.BodyRepeat > 1 {
			w.WriteHeader(f.Status)
			for range f.BodyRepeat {
				if _, err := io.WriteString(w, f.Body); err != nil {
					break // the client stopped reading
				}
			}
			return
		}
		http.Error(w, f.Body, f.Status)
		return
	}
	h := remote.NewWriteHandler(store{r}, remote.MessageTypes{remote.WriteV1MessageType, remote.WriteV2MessageType})
	h.ServeHTTP(w, req)
}

type store struct{ r *Receiver }

func (s store) Store(req *http.Request, typ remote.WriteMessageType) (*remote.WriteResponse, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	q := Request{Header: req.Header.Clone(), Proto: typ, Meta: map[string]string{}}
	if typ == remote.WriteV2MessageType {
		err = decodeV2(body, &q)
	} else {
		err = decodeV1(body, &q)
	}
	resp := remote.NewWriteResponse()
	if err != nil {
		resp.SetStatusCode(http.StatusBadRequest)
		return resp, err
	}
	resp.Samples = len(q.Samples)
	resp.SetStatusCode(http.StatusNoContent)
	s.r.mu.Lock()
	s.r.requests = append(s.r.requests, q)
	s.r.mu.Unlock()
	return resp, nil
}

func seriesString(ls [][2]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", l[0], l[1])
	}
	b.WriteByte('}')
	return b.String()
}

// fields walks one protobuf message, calling f for every field.
func fields(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		default:
			return fmt.Errorf("unexpected wire type %d", typ)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func decodeV1(body []byte, q *Request) error {
	return fields(body, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case 1: // TimeSeries
			var ls [][2]string
			var smp []Sample
			err := fields(v, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
				switch num {
				case 1:
					var l [2]string
					err := fields(v, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
						if num == 1 || num == 2 {
							l[num-1] = string(v)
						}
						return nil
					})
					ls = append(ls, l)
					return err
				case 2:
					var s Sample
					err := fields(v, func(num protowire.Number, _ protowire.Type, _ []byte, x uint64) error {
						switch num {
						case 1:
							s.V = math.Float64frombits(x)
						case 2:
							s.T = int64(x)
						}
						return nil
					})
					smp = append(smp, s)
					return err
				}
				return nil
			})
			if err != nil {
				return err
			}
			if !sort.SliceIsSorted(ls, func(i, j int) bool { return ls[i][0] < ls[j][0] }) {
				return fmt.Errorf("labels not sorted: %v", ls)
			}
			for i := range smp {
				smp[i].Labels, smp[i].Series = ls, seriesString(ls)
			}
			q.Samples = append(q.Samples, smp...)
		case 3: // MetricMetadata
			var typ uint64
			var name string
			err := fields(v, func(num protowire.Number, _ protowire.Type, v []byte, x uint64) error {
				switch num {
				case 1:
					typ = x
				case 2:
					name = string(v)
				}
				return nil
			})
			q.Meta[name] = map[uint64]string{1: "counter", 2: "gauge"}[typ]
			return err
		}
		return nil
	})
}

func decodeV2(body []byte, q *Request) error {
	var req writev2.Request
	if err := proto.Unmarshal(body, &req); err != nil {
		return err
	}
	for _, ts := range req.Timeseries {
		kv := writev2.DesymbolizeLabels(ts.LabelsRefs, req.Symbols, nil)
		var ls [][2]string
		for i := 0; i+1 < len(kv); i += 2 {
			ls = append(ls, [2]string{kv[i], kv[i+1]})
		}
		name := ""
		for _, l := range ls {
			if l[0] == "__name__" {
				name = l[1]
			}
		}
		if ts.Metadata != nil {
			q.Meta[name] = map[writev2.Metadata_MetricType]string{writev2.Metadata_METRIC_TYPE_COUNTER: "counter",
				writev2.Metadata_METRIC_TYPE_GAUGE: "gauge"}[ts.Metadata.Type]
		}
		for _, s := range ts.Samples {
			q.Samples = append(q.Samples, Sample{Series: seriesString(ls), Labels: ls, T: s.Timestamp, V: s.Value})
		}
	}
	return nil
}

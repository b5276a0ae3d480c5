package replay

import (
	"math"

	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/visor-dns/visor/report"
)

// grouped returns a batch's samples per series, in the order each series
// first appears, every series' samples ascending in time.
func grouped(b *Batch) (order []int, by map[int][]Sample) {
	by = map[int][]Sample{}
	for _, s := range b.Samples {
		if _, ok := by[s.Series]; !ok {
			order = append(order, s.Series)
		}
		by[s.Series] = append(by[s.Series], s)
	}
	return order, by
}

// writeRequestV1 is a remote write 1.0 prometheus.WriteRequest, encoded by
// hand with protowire: client_golang/exp carries only the 2.0 types, and
// github.com/prometheus/prometheus/prompb would pull in gogo/protobuf and the
// Prometheus module for four small messages. It offers the gogo-style
// Size/MarshalToSizedBuffer pair that remote.API.Write uses.
type writeRequestV1 struct{ buf []byte }

func (m *writeRequestV1) Size() int { return len(m.buf) }

func (m *writeRequestV1) MarshalToSizedBuffer(b []byte) (int, error) {
	return copy(b[len(b)-len(m.buf):], m.buf), nil
}

// Field numbers of remote write 1.0 (prometheus/prompb/remote.proto, types.proto).
const (
	v1WriteTimeseries = 1 // WriteRequest.timeseries
	v1WriteMetadata   = 3 // WriteRequest.metadata
	v1SeriesLabels    = 1 // TimeSeries.labels
	v1SeriesSamples   = 2 // TimeSeries.samples
	v1LabelName       = 1
	v1LabelValue      = 2
	v1SampleValue     = 1
	v1SampleTimestamp = 2
	v1MetaType        = 1 // MetricMetadata.type: COUNTER 1, GAUGE 2
	v1MetaFamily      = 2
	v1MetaHelp        = 4
)

func encodeV1(p *Plan, b *Batch) *writeRequestV1 {
	order, by := grouped(b)
	var out, ts, tmp []byte
	for _, si := range order {
		ts = ts[:0]
		for _, l := range p.Series[si].Labels {
			tmp = tmp[:0]
			tmp = protowire.AppendTag(tmp, v1LabelName, protowire.BytesType)
			tmp = protowire.AppendString(tmp, l.Name)
			tmp = protowire.AppendTag(tmp, v1LabelValue, protowire.BytesType)
			tmp = protowire.AppendString(tmp, l.Value)
			ts = protowire.AppendTag(ts, v1SeriesLabels, protowire.BytesType)
			ts = protowire.AppendBytes(ts, tmp)
		}
		for _, s := range by[si] {
			tmp = tmp[:0]
			tmp = protowire.AppendTag(tmp, v1SampleValue, protowire.Fixed64Type)
			tmp = protowire.AppendFixed64(tmp, math.Float64bits(s.V))
			tmp = protowire.AppendTag(tmp, v1SampleTimestamp, protowire.VarintType)
			tmp = protowire.AppendVarint(tmp, uint64(s.T))
			ts = protowire.AppendTag(ts, v1SeriesSamples, protowire.BytesType)
			ts = protowire.AppendBytes(ts, tmp)
		}
		out = protowire.AppendTag(out, v1WriteTimeseries, protowire.BytesType)
		out = protowire.AppendBytes(out, ts)
	}
	// Metadata once per family present in the batch.
	seen := map[*report.Family]bool{}
	for _, si := range order {
		f := p.Series[si].Family
		if seen[f] {
			continue
		}
		seen[f] = true
		tmp = tmp[:0]
		typ := uint64(2)
		if f.Type == report.Counter {
			typ = 1
		}
		tmp = protowire.AppendTag(tmp, v1MetaType, protowire.VarintType)
		tmp = protowire.AppendVarint(tmp, typ)
		tmp = protowire.AppendTag(tmp, v1MetaFamily, protowire.BytesType)
		tmp = protowire.AppendString(tmp, f.Name)
		tmp = protowire.AppendTag(tmp, v1MetaHelp, protowire.BytesType)
		tmp = protowire.AppendString(tmp, f.Help)
		out = protowire.AppendTag(out, v1WriteMetadata, protowire.BytesType)
		out = protowire.AppendBytes(out, tmp)
	}
	return &writeRequestV1{buf: out}
}

func encodeV2(p *Plan, b *Batch) *writev2.Request {
	order, by := grouped(b)
	st := writev2.NewSymbolTable()
	req := &writev2.Request{}
	var kv []string
	for _, si := range order {
		s := p.Series[si]
		kv = kv[:0]
		for _, l := range s.Labels {
			kv = append(kv, l.Name, l.Value)
		}
		ts := &writev2.TimeSeries{LabelsRefs: st.SymbolizeLabels(kv, nil)}
		for _, smp := range by[si] {
			ts.Samples = append(ts.Samples, &writev2.Sample{Value: smp.V, Timestamp: smp.T})
		}
		typ := writev2.Metadata_METRIC_TYPE_GAUGE
		if s.Family.Type == report.Counter {
			typ = writev2.Metadata_METRIC_TYPE_COUNTER
		}
		ts.Metadata = &writev2.Metadata{Type: typ, HelpRef: st.Symbolize(s.Family.Help)}
		req.Timeseries = append(req.Timeseries, ts)
	}
	req.Symbols = st.Symbols()
	return req
}

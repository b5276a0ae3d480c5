package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/visor-dns/visor/analyzers/dns"
	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/rssac002"
)

// validateRSSAC checks a run that counts RSSAC002's daily measurements:
// its buckets must tile a UTC day, and it reads its inputs as one capture
// (the summaries that merge inputs analysed apart do not carry the days).
func (c *Config) validateRSSAC() error {
	if !c.RSSAC002 {
		if c.ExactSources {
			return errors.New("exact source counts are for RSSAC002 only")
		}
		return nil
	}
	if (24*time.Hour)%c.Bucket != 0 {
		return fmt.Errorf("rssac002: the bucket width %s does not divide a day", c.Bucket)
	}
	if c.SplitBy != "" {
		return errors.New("rssac002: the days are measured over all inputs together, not split")
	}
	c.Jobs = 1
	return nil
}

// rssacOptions are the analyzers' RSSAC002 settings; nil when off.
func (c *Config) rssacOptions() *dns.RSSACOptions {
	if !c.RSSAC002 {
		return nil
	}
	return &dns.RSSACOptions{ExactSources: c.ExactSources}
}

// WriteRSSAC002 writes the RSSAC002 files of every day rep measured into
// dir and returns their paths; none when no DNS message was counted.
// RSSAC002Options name the service and instance of the RSSAC002 files
// (package rssac002).
type RSSAC002Options = rssac002.Options

func WriteRSSAC002(dir string, o rssac002.Options, rep *report.Report) ([]string, error) {
	if len(rep.RSSAC002) == 0 {
		return nil, nil
	}
	return rssac002.WriteDir(dir, o, rep.RSSAC002)
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestQuantileIsWithinOneBucketOfTheTrueValue(t *testing.T) {
	var h histogram
	// 1 ms .. 100 ms, one sample each: p50 is 50 ms, p99 is 99 ms.
	for i := 1; i <= 100; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.50, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		got := h.quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*histGrowth {
			t.Errorf("quantile(%v) = %v, want within [%v, %v]", c.q, got, c.want,
				time.Duration(float64(c.want)*histGrowth))
		}
	}
}

func TestQuantileNeverExceedsTheLongestSample(t *testing.T) {
	var h histogram
	h.record(1234 * time.Microsecond)
	if got := h.quantile(0.99); got != 1234*time.Microsecond {
		t.Errorf("quantile(0.99) = %v, want the only sample 1.234ms", got)
	}
	var empty histogram
	if got := empty.quantile(0.5); got != 0 {
		t.Errorf("empty quantile = %v, want 0", got)
	}
}

func TestExtremeLatenciesLandInTheEdgeBuckets(t *testing.T) {
	if got := bucketOf(time.Nanosecond); got != 0 {
		t.Errorf("bucketOf(1ns) = %d, want 0", got)
	}
	if got := bucketOf(time.Hour); got != histBuckets-1 {
		t.Errorf("bucketOf(1h) = %d, want %d", got, histBuckets-1)
	}
	if bound := bucketBound(histBuckets - 1); bound < 100*time.Second {
		t.Errorf("last bucket ends at %v, below a command timeout", bound)
	}
}

func TestSeriesWritesOneRowPerSecondWithItsCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "series.csv")
	// Started 2.5 s ago: seconds 0, 1 and 2 exist; the samples land in second 2.
	s, err := newSeries(path, time.Now().Add(-2500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	s.record(2*time.Millisecond, false)
	s.record(4*time.Millisecond, true)
	s.redirect()
	if err := s.finish(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want a header and seconds 0..2:\n%s", len(lines), b)
	}
	if lines[0] != "t_s,ops,failed,redirects,p50_ms,p99_ms,max_ms" {
		t.Errorf("header = %q", lines[0])
	}
	if lines[1] != "0,0,0,0,0.000,0.000,0.000" {
		t.Errorf("second 0 = %q, want an empty row", lines[1])
	}
	fields := strings.Split(lines[3], ",")
	if fields[0] != "2" || fields[1] != "2" || fields[2] != "1" || fields[3] != "1" || fields[6] != "4.000" {
		t.Errorf("second 2 = %q, want 2 ops, 1 failed, 1 redirect, max 4 ms", lines[3])
	}
}

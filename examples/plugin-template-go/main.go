// A loadrun output plugin in Go: `gocount` counts the samples of each metric and writes
// `metric count` lines to a file at the end of the run; `gocount-null` discards every batch
// (one .so may provide several outputs).
//
//	go build -buildmode=c-shared -o libout_gocount.so .
//	loadrun --plugin ./libout_gocount.so -o gocount=counts.txt
package main

import (
	"fmt"
	"os"
	"sort"
	"time"

	loadrun "github.com/loadrun/loadrun/plugin-api/go"
)

// The output names; another build can rename them with
// -ldflags "-X main.outputName=other" (two builds loaded into one run need different names).
var outputName = "gocount"

func init() {
	loadrun.Register(loadrun.Plugin{
		Name:    "out_" + outputName,
		Version: "0.1.0",
		Outputs: []loadrun.OutputSpec{
			{
				Name:        outputName,
				Description: "counts the samples of each metric; writes `metric count` lines at the end (the Go plugin template)",
				Positional:  "file",
				Options: []loadrun.Option{
					{Name: "file", Kind: loadrun.String, Default: outputName + ".txt",
						Doc: "the file written at the end of the run"},
					{Name: "failAfter", Kind: loadrun.Int(0, 1<<31), Default: "0",
						Doc: "answer a fatal error after this many batches with samples (0: never); for testing quarantine"},
				},
				New: newCount,
			},
			{
				Name:        outputName + "-null",
				Description: "discards every batch (benchmarks)",
				New:         func(*loadrun.Init) (loadrun.Output, error) { return null{}, nil },
			},
		},
	})
}

func main() {}

type count struct {
	file      string
	failAfter int64
	batches   int64
	names     map[uint32]string // metric id -> name
	metricOf  map[uint32]uint32 // series id -> metric id
	counts    map[string]uint64
	host      *loadrun.Host
}

func newCount(init *loadrun.Init) (loadrun.Output, error) {
	file, err := init.String("file")
	if err != nil {
		return nil, err
	}
	failAfter, err := init.Int("failAfter")
	if err != nil {
		return nil, err
	}
	// Created now, so a path that cannot be written stops the run before it starts.
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		return nil, fmt.Errorf("%s: %v", outputName, err)
	}
	return &count{file: file, failAfter: failAfter, names: map[uint32]string{},
		metricOf: map[uint32]uint32{}, counts: map[string]uint64{}}, nil
}

func (c *count) Start(host *loadrun.Host) error {
	c.host = host
	host.Log(loadrun.LogDebug, "counting into "+c.file)
	return nil
}

func (c *count) Write(b *loadrun.Batch) loadrun.Status {
	for _, m := range b.Metrics {
		c.names[m.ID] = m.Name
	}
	for _, s := range b.Series {
		c.metricOf[s.ID] = s.Metric
	}
	if len(b.Samples) == 0 {
		return loadrun.OK()
	}
	c.batches++
	if c.failAfter > 0 && c.batches > c.failAfter {
		return loadrun.Fatal("gave up after " + fmt.Sprint(c.failAfter) + " batches (failAfter)")
	}
	var unknown uint64
	for i := range b.Samples {
		m, ok := c.metricOf[b.Samples[i].Series]
		if !ok {
			unknown++ // a series never defined: not countable, so rejected
			continue
		}
		c.counts[c.names[m]]++
	}
	c.host.Count(loadrun.CounterSamplesRejected, unknown)
	return loadrun.OK()
}

func (c *count) Flush(time.Duration) error { return nil }

func (c *count) Stop(outcome *loadrun.Outcome, _ time.Duration) error {
	names := make([]string, 0, len(c.counts))
	for n := range c.counts {
		names = append(names, n)
	}
	sort.Strings(names)
	text := ""
	for _, n := range names {
		text += fmt.Sprintf("%s %d\n", n, c.counts[n])
	}
	if err := os.WriteFile(c.file, []byte(text), 0o644); err != nil {
		var total uint64
		for _, n := range c.counts {
			total += n
		}
		c.host.Count(loadrun.CounterSamplesLost, total)
		return fmt.Errorf("%s: %v", outputName, err)
	}
	c.host.Log(loadrun.LogInfo, fmt.Sprintf("counted %d metrics (run passed: %v)", len(names), outcome.Passed))
	return nil
}

type null struct{}

func (null) Start(*loadrun.Host) error                  { return nil }
func (null) Write(*loadrun.Batch) loadrun.Status        { return loadrun.OK() }
func (null) Flush(time.Duration) error                  { return nil }
func (null) Stop(*loadrun.Outcome, time.Duration) error { return nil }

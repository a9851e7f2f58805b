package loadrun

import (
	"encoding/json"
	"fmt"
	"time"
)

// Init is what New gets: the checked options, and the rest of the host's init document.
type Init struct {
	Output string `json:"output"`
	// The raw `-o NAME=ARG` argument (host options removed), nil if none.
	Arg *string `json:"arg"`
	// The plan's [outputs.NAME] table.
	Config json.RawMessage `json:"config"`
	// The declared options, merged and checked by the host: durations in nanoseconds, sizes
	// in bytes. Read them with the accessors.
	Options map[string]json.RawMessage `json:"options"`
	Test    TestMeta                   `json:"test"`
}

type TestMeta struct {
	TestID            string            `json:"testId"`
	PlanName          string            `json:"planName"`
	StartUnixNs       int64             `json:"startUnixNs"`
	PlannedDurationMs *uint64           `json:"plannedDurationMs"`
	MaxVUs            uint64            `json:"maxVus"`
	Tags              map[string]string `json:"tags"`
	SystemTags        []string          `json:"systemTags"`
}

func (i *Init) opt(name string, v any) error {
	raw, ok := i.Options[name]
	if !ok {
		return fmt.Errorf("%s: option %s has no value", i.Output, name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: option %s: %v", i.Output, name, err)
	}
	return nil
}

// String is a string, URL or enum option.
func (i *Init) String(name string) (string, error) {
	var s string
	err := i.opt(name, &s)
	return s, err
}

func (i *Init) Bool(name string) (bool, error) {
	var b bool
	err := i.opt(name, &b)
	return b, err
}

func (i *Init) Int(name string) (int64, error) {
	var n int64
	err := i.opt(name, &n)
	return n, err
}

func (i *Init) Float(name string) (float64, error) {
	var f float64
	err := i.opt(name, &f)
	return f, err
}

func (i *Init) Duration(name string) (time.Duration, error) {
	var ns int64
	err := i.opt(name, &ns)
	return time.Duration(ns), err
}

// Size is a size option, in bytes.
func (i *Init) Size(name string) (uint64, error) {
	var n uint64
	err := i.opt(name, &n)
	return n, err
}

func (i *Init) List(name string) ([]string, error) {
	var l []string
	err := i.opt(name, &l)
	return l, err
}

// Sample is the host's sample, 24 bytes: a batch's samples are the host's own array.
type Sample struct {
	Series   uint32
	reserved uint32
	TimeNs   int64
	Value    float64
}

type MetricType uint8

const (
	Counter MetricType = iota
	Gauge
	Rate
	Trend
)

type ValueKind uint8

const (
	ValueDefault ValueKind = iota
	ValueTime
	ValueData
)

type KeyValue struct{ Key, Value string }

type MetricDef struct {
	ID         uint32
	Name       string
	Type       MetricType
	Contains   ValueKind
	Thresholds []string
}

type SeriesDef struct {
	ID       uint32
	Metric   uint32
	Tags     []KeyValue // sorted by key
	Metadata []KeyValue // k6's vu, iter
}

// Batch is borrowed for the Write call: Samples points into the host's memory.
type Batch struct {
	// Definitions not given before (they may repeat; an id always means the same thing).
	Metrics []MetricDef
	Series  []SeriesDef
	Samples []Sample
}

// Status is Write's answer.
type Status struct {
	code       int32
	retryAfter time.Duration
	reason     string
}

// OK: the batch is the plugin's (written or buffered).
func OK() Status { return Status{} }

// Retry: a passing failure; the host writes the same batch again after its backoff.
func Retry(reason string) Status { return Status{code: 1, retryAfter: -1, reason: reason} }

// RetryAfter: a passing failure the server said when to retry.
func RetryAfter(after time.Duration, reason string) Status {
	return Status{code: 1, retryAfter: after, reason: reason}
}

// Fatal: the output cannot go on; the host disables it for the rest of the run.
func Fatal(reason string) Status { return Status{code: 2, reason: reason} }

type ThresholdVerdict struct {
	Metric string `json:"metric"`
	Source string `json:"source"`
	Passed bool   `json:"passed"`
}

// Outcome is how the run ended.
type Outcome struct {
	Passed     bool               `json:"passed"`
	Reason     string             `json:"reason"`
	DurationMs uint64             `json:"durationMs"`
	Thresholds []ThresholdVerdict `json:"thresholds"`
}

// The standard counters (Host.Count): samples answered OK but not delivered after all.
const (
	CounterSamplesLost     = "samples_lost"
	CounterSamplesRejected = "samples_rejected"
)

type LogLevel int32

const (
	LogError LogLevel = iota
	LogWarn
	LogInfo
	LogDebug
	LogTrace
)
